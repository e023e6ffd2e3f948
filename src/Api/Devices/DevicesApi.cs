using System.ComponentModel.DataAnnotations;
using Api.Auth;
using Api.Variants;

namespace Api.Devices;

/// <summary>A device profile: a built-in worker host or a tenant's own device.</summary>
/// <param name="Name">Its name (a slug), e.g. <c>cpu-amd-epyc-2t</c> or <c>pixel-8</c>.</param>
/// <param name="Description">Free text.</param>
/// <param name="CpuModel">The CPU model.</param>
/// <param name="Cores">Physical cores.</param>
/// <param name="Threads">Threads the timings used.</param>
/// <param name="GpuName">The GPU, if any.</param>
/// <param name="BuiltIn">True for the workers' own host profiles (shared by all tenants, read-only).</param>
/// <param name="Measurements">Latency measurements stored for it.</param>
/// <param name="CreatedAt">When it was registered (UTC).</param>
public sealed record DeviceResponse(
    string Name, string? Description, string? CpuModel, int? Cores, int? Threads, string? GpuName, bool BuiltIn,
    int Measurements, DateTime CreatedAt);

/// <summary>A device to register for your tenant.</summary>
/// <param name="Name">Required: 1..64 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit.</param>
/// <param name="Description">Free text, at most 1000 characters.</param>
/// <param name="CpuModel">The CPU model, at most 200 characters.</param>
/// <param name="Cores">Physical cores, 1..4096.</param>
/// <param name="Threads">Threads the timings use, 1..8192.</param>
/// <param name="GpuName">The GPU, at most 200 characters.</param>
public sealed record CreateDeviceRequest(
    [property: StringLength(DeviceProfile.MaxNameLength, MinimumLength = 1)] string? Name,
    [property: StringLength(1000)] string? Description,
    [property: StringLength(200)] string? CpuModel,
    [property: Range(1, 4096)] int? Cores,
    [property: Range(1, 8192)] int? Threads,
    [property: StringLength(200)] string? GpuName);

/// <summary>One variant's latency as you timed it on the device.</summary>
/// <param name="RankFraction">The variant's rank fraction (one of the run's curve points).</param>
/// <param name="Batch">The batch size timed, 1..4096.</param>
/// <param name="MedianMs">Median milliseconds per forward pass of the batch, in (0, 3600000].</param>
/// <param name="P90Ms">90th percentile, at least the median.</param>
/// <param name="Runs">Timed runs the statistics come from, 1..10000000.</param>
public sealed record LatencyMeasurementRequest(
    [property: Range(0, 1, MinimumIsExclusive = true)] double RankFraction,
    [property: Range(1, VariantCatalog.MaxBatch)] int Batch,
    [property: Range(0, 3_600_000, MinimumIsExclusive = true)] double MedianMs,
    [property: Range(0, 3_600_000, MinimumIsExclusive = true)] double? P90Ms,
    [property: Range(1, 10_000_000)] int? Runs);

/// <summary>Latencies of a run's variants timed on your device.</summary>
/// <param name="RunId">Required: the run whose variants were timed.</param>
/// <param name="Runtime">The runtime used, e.g. <c>onnxruntime-android</c>; at most 64 characters.</param>
/// <param name="Threads">Threads the timings used.</param>
/// <param name="Measurements">1..1024 measurements; a later post for the same variant and batch replaces it.</param>
public sealed record PostLatenciesRequest(
    Guid RunId,
    [property: StringLength(64)] string? Runtime,
    [property: Range(1, 8192)] int? Threads,
    [property: Length(1, DevicesApi.MaxMeasurements)] IReadOnlyList<LatencyMeasurementRequest>? Measurements);

/// <summary>What a latency post stored.</summary>
/// <param name="Device">The device.</param>
/// <param name="RunId">The run.</param>
/// <param name="Stored">Measurements stored (new or replaced).</param>
public sealed record PostLatenciesResponse(string Device, Guid RunId, int Stored);

public static class DevicesApi
{
    public const int MaxMeasurements = 1024;

    public static RouteGroupBuilder MapDevicesApi(this RouteGroupBuilder api)
    {
        RouteGroupBuilder group = api.MapGroup("/devices").WithTags("Devices");
        group.MapGet("/", ListAsync).WithName("ListDevices").WithSummary("List device profiles (built-in hosts and users' own devices)");
        group.MapGet("/{name}", GetAsync).WithName("GetDevice").WithSummary("Get a device profile").ProducesProblem(StatusCodes.Status404NotFound);
        group.MapPost("/", CreateAsync).WithName("CreateDevice").WithSummary("Register a device profile")
            .ProducesValidationProblem().ProducesProblem(StatusCodes.Status409Conflict);
        group.MapPost("/{name}/latencies", PostLatenciesAsync).WithName("PostDeviceLatencies")
            .WithSummary("Record latencies of a run's variants measured on this device (replaces earlier values)")
            .ProducesValidationProblem().ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
        return group;
    }

    public static async Task<Ok<List<DeviceResponse>>> ListAsync(AppDbContext db, CancellationToken cancellationToken)
    {
        List<DeviceProfile> devices = await db.DeviceProfiles.AsNoTracking().OrderBy(d => d.Name).ToListAsync(cancellationToken);
        // Latencies of the tenant's own runs only (built-in profiles carry every tenant's).
        Dictionary<Guid, int> counts = await db.VariantLatencies.AsNoTracking().Where(l => db.Runs.Any(r => r.Id == l.RunId))
            .GroupBy(l => l.DeviceProfileId)
            .Select(g => new { g.Key, Count = g.Count() }).ToDictionaryAsync(g => g.Key, g => g.Count, cancellationToken);
        return TypedResults.Ok(devices.Select(d => ToResponse(d, counts.GetValueOrDefault(d.Id))).ToList());
    }

    public static async Task<Ok<DeviceResponse>> GetAsync(string name, AppDbContext db, CancellationToken cancellationToken)
    {
        DeviceProfile device = await db.DeviceProfiles.AsNoTracking().FindByNameAsync(name, cancellationToken)
            ?? throw new NotFoundException("Device", name);
        int count = await db.VariantLatencies.CountAsync(l => l.DeviceProfileId == device.Id && db.Runs.Any(r => r.Id == l.RunId), cancellationToken);
        return TypedResults.Ok(ToResponse(device, count));
    }

    public static async Task<Created<DeviceResponse>> CreateAsync(
        CreateDeviceRequest request, AppDbContext db, CurrentTenant tenant, TimeProvider clock, CancellationToken cancellationToken)
    {
        var rules = new Rules();
        DeviceProfile.ValidateName(rules, "name", request.Name);
        if (request.Description is { Length: > 1000 })
        {
            rules.Add("description", "must be at most 1000 characters.");
        }
        if (request.CpuModel is { Length: > 200 })
        {
            rules.Add("cpuModel", "must be at most 200 characters.");
        }
        if (request.GpuName is { Length: > 200 })
        {
            rules.Add("gpuName", "must be at most 200 characters.");
        }
        if (request.Cores is int cores)
        {
            rules.Range("cores", cores, 1, 4096);
        }
        if (request.Threads is int threads)
        {
            rules.Range("threads", threads, 1, 8192);
        }
        rules.ThrowIfInvalid();
        if (await db.DeviceProfiles.AnyAsync(d => d.Name == request.Name, cancellationToken))
        {
            throw new ConflictException($"A device profile named '{request.Name}' already exists.");
        }
        var device = new DeviceProfile
        {
            Id = Guid.CreateVersion7(),
            TenantId = tenant.Id,
            Name = request.Name!,
            Description = request.Description,
            CpuModel = request.CpuModel,
            Cores = request.Cores,
            Threads = request.Threads,
            GpuName = request.GpuName,
            BuiltIn = false,
            CreatedAt = clock.GetUtcNow().UtcDateTime,
        };
        db.DeviceProfiles.Add(device);
        try
        {
            await db.SaveChangesAsync(cancellationToken);
        }
        catch (DbUpdateException)
        {
            throw new ConflictException($"A device profile named '{request.Name}' already exists.");
        }
        return TypedResults.Created($"/api/v1/devices/{device.Name}", ToResponse(device, 0));
    }

    public static async Task<Ok<PostLatenciesResponse>> PostLatenciesAsync(
        string name, PostLatenciesRequest request, AppDbContext db, VariantCatalog catalog, TimeProvider clock, CancellationToken cancellationToken)
    {
        var rules = new Rules();
        if (request.RunId == Guid.Empty)
        {
            rules.Add("runId", "is required.");
        }
        if (request.Runtime is { Length: > 64 })
        {
            rules.Add("runtime", "must be at most 64 characters.");
        }
        if (request.Measurements is null || request.Measurements.Count == 0)
        {
            rules.Add("measurements", "must list at least one measurement.");
        }
        else if (request.Measurements.Count > MaxMeasurements)
        {
            rules.Add("measurements", $"may list at most {MaxMeasurements} measurements.");
        }
        else
        {
            for (int i = 0; i < request.Measurements.Count; i++)
            {
                LatencyMeasurementRequest m = request.Measurements[i];
                rules.Range($"measurements[{i}].batch", m.Batch, 1, VariantCatalog.MaxBatch);
                rules.Range($"measurements[{i}].medianMs", m.MedianMs, 0, 3_600_000, minExclusive: true);
                if (m.P90Ms is double p90)
                {
                    rules.Range($"measurements[{i}].p90Ms", p90, m.MedianMs, 3_600_000);
                }
                if (m.Runs is int runs)
                {
                    rules.Range($"measurements[{i}].runs", runs, 1, 10_000_000);
                }
            }
        }
        rules.ThrowIfInvalid();

        DeviceProfile device = await db.DeviceProfiles.FindByNameAsync(name, cancellationToken)
            ?? throw new NotFoundException("Device", name);
        if (device.BuiltIn)
        {
            // Shared by every tenant and measured by the workers: posted numbers would shift other tenants' estimates.
            throw new ConflictException(
                $"Device profile '{name}' is built in: the workers measure it. Register your own profile (POST /api/v1/devices) and post its latencies there.");
        }
        Run run = await catalog.FinishedRunAsync(request.RunId, cancellationToken);
        for (int i = 0; i < request.Measurements!.Count; i++)
        {
            if (!run.Curve.Any(c => VariantCatalog.SameFraction(c.RankFraction, request.Measurements[i].RankFraction)))
            {
                rules.Add($"measurements[{i}].rankFraction",
                    $"{request.Measurements[i].RankFraction} is not on the run's curve ({string.Join(", ", run.Curve.Select(c => c.RankFraction).Order())}).");
            }
        }
        rules.ThrowIfInvalid();

        DateTime now = clock.GetUtcNow().UtcDateTime;
        List<VariantLatency> existing = await db.VariantLatencies
            .Where(l => l.RunId == run.Id && l.DeviceProfileId == device.Id).ToListAsync(cancellationToken);
        foreach (LatencyMeasurementRequest m in request.Measurements)
        {
            double fraction = run.Curve.First(c => VariantCatalog.SameFraction(c.RankFraction, m.RankFraction)).RankFraction;
            VariantLatency? row = existing.FirstOrDefault(l => l.Batch == m.Batch && VariantCatalog.SameFraction(l.RankFraction, fraction));
            if (row is null)
            {
                row = new VariantLatency { Id = Guid.CreateVersion7(), RunId = run.Id, DeviceProfileId = device.Id, RankFraction = fraction, Batch = m.Batch, Runtime = "" };
                db.VariantLatencies.Add(row);
                existing.Add(row);
            }
            row.MedianMs = m.MedianMs;
            row.P90Ms = m.P90Ms ?? m.MedianMs;
            row.Runs = m.Runs ?? 1;
            row.Runtime = request.Runtime ?? "client";
            row.Threads = request.Threads;
            row.MeasuredAt = now;
        }
        await db.SaveChangesAsync(cancellationToken);
        catalog.ForgetPrices(device.Name);
        return TypedResults.Ok(new PostLatenciesResponse(device.Name, run.Id, request.Measurements.Count));
    }

    private static DeviceResponse ToResponse(DeviceProfile d, int measurements) =>
        new(d.Name, d.Description, d.CpuModel, d.Cores, d.Threads, d.GpuName, d.BuiltIn, measurements, d.CreatedAt);
}

internal static class DeviceLookup
{
    /// <summary>
    /// The visible profile of that name: the tenant's own before a built-in one (a built-in profile created
    /// later by a worker may share the name of an older profile of the tenant).
    /// </summary>
    public static Task<DeviceProfile?> FindByNameAsync(this IQueryable<DeviceProfile> profiles, string name, CancellationToken cancellationToken) =>
        profiles.Where(d => d.Name == name).OrderBy(d => d.TenantId == null ? 1 : 0).FirstOrDefaultAsync(cancellationToken);
}

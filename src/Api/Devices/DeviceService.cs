using Api.Auth;
using Api.Variants;

namespace Api.Devices;

/// <summary>
/// Device profiles and their latency tables for <see cref="DevicesApi"/> and the gRPC <c>DeviceService</c>: lists and reads
/// see built-in profiles and the caller's tenant's own; latency counts cover the tenant's own runs only. Failures are
/// exceptions (<see cref="DomainValidationException"/>, <see cref="NotFoundException"/>, <see cref="ConflictException"/>).
/// </summary>
public sealed class DeviceService(AppDbContext db, VariantCatalog catalog, CurrentTenant tenant, TimeProvider clock)
{
    public const int MaxMeasurements = 1024;

    public async Task<List<DeviceResponse>> ListAsync(CancellationToken cancellationToken)
    {
        List<DeviceProfile> devices = await db.DeviceProfiles.AsNoTracking().OrderBy(d => d.Name).ToListAsync(cancellationToken);
        // Latencies of the tenant's own runs only (built-in profiles carry every tenant's).
        Dictionary<Guid, int> counts = await db.VariantLatencies.AsNoTracking().Where(l => db.Runs.Any(r => r.Id == l.RunId))
            .GroupBy(l => l.DeviceProfileId)
            .Select(g => new { g.Key, Count = g.Count() }).ToDictionaryAsync(g => g.Key, g => g.Count, cancellationToken);
        return devices.Select(d => ToResponse(d, counts.GetValueOrDefault(d.Id))).ToList();
    }

    public async Task<DeviceResponse> GetAsync(string name, CancellationToken cancellationToken)
    {
        DeviceProfile device = await db.DeviceProfiles.AsNoTracking().FindByNameAsync(name, cancellationToken)
            ?? throw new NotFoundException("Device", name);
        int count = await db.VariantLatencies.CountAsync(l => l.DeviceProfileId == device.Id && db.Runs.Any(r => r.Id == l.RunId), cancellationToken);
        return ToResponse(device, count);
    }

    /// <summary>Registers a profile for the caller's tenant; a taken name is a <see cref="ConflictException"/>.</summary>
    public async Task<DeviceResponse> CreateAsync(CreateDeviceRequest request, CancellationToken cancellationToken)
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
        catch (DbUpdateException ex) when (UniqueViolations.Involves(ex, nameof(DeviceProfile.Name)))
        {
            // A concurrent request created it first; any other failure (e.g. the database is down) is not a conflict.
            throw new ConflictException($"A device profile named '{request.Name}' already exists.");
        }
        return ToResponse(device, 0);
    }

    /// <summary>Stores (or replaces) latencies of a finished run's variants on one of the tenant's own profiles.</summary>
    public async Task<PostLatenciesResponse> PostLatenciesAsync(string name, PostLatenciesRequest request, CancellationToken cancellationToken)
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
        return new PostLatenciesResponse(device.Name, run.Id, request.Measurements.Count);
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

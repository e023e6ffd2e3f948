using System.ComponentModel.DataAnnotations;
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
    [property: Length(1, DeviceService.MaxMeasurements)] IReadOnlyList<LatencyMeasurementRequest>? Measurements);

/// <summary>What a latency post stored.</summary>
/// <param name="Device">The device.</param>
/// <param name="RunId">The run.</param>
/// <param name="Stored">Measurements stored (new or replaced).</param>
public sealed record PostLatenciesResponse(string Device, Guid RunId, int Stored);

public static class DevicesApi
{
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

    public static async Task<Ok<List<DeviceResponse>>> ListAsync(DeviceService devices, CancellationToken cancellationToken) =>
        TypedResults.Ok(await devices.ListAsync(cancellationToken));

    public static async Task<Ok<DeviceResponse>> GetAsync(string name, DeviceService devices, CancellationToken cancellationToken) =>
        TypedResults.Ok(await devices.GetAsync(name, cancellationToken));

    public static async Task<Created<DeviceResponse>> CreateAsync(CreateDeviceRequest request, DeviceService devices, CancellationToken cancellationToken)
    {
        DeviceResponse device = await devices.CreateAsync(request, cancellationToken);
        return TypedResults.Created($"/api/v1/devices/{device.Name}", device);
    }

    public static async Task<Ok<PostLatenciesResponse>> PostLatenciesAsync(
        string name, PostLatenciesRequest request, DeviceService devices, CancellationToken cancellationToken) =>
        TypedResults.Ok(await devices.PostLatenciesAsync(name, request, cancellationToken));
}

namespace TrainingService.Sdk;

/// <summary>
/// Device profiles over <c>training.v1.DeviceService</c> (<see cref="TrainingClient.Devices"/>): list, get, create and
/// post measured latencies. All but <see cref="CreateAsync"/> are retried on <see cref="StatusCode.Unavailable"/>.
/// </summary>
public sealed class DevicesClient
{
    private readonly DeviceService.DeviceServiceClient _devices;

    internal DevicesClient(ClientContext context)
    {
        _devices = new DeviceService.DeviceServiceClient(context.Invoker);
    }

    /// <summary>Lists device profiles by name: built-in hosts and users' own devices.</summary>
    public async Task<IReadOnlyList<Device>> ListAsync(CancellationToken cancellationToken = default) =>
        (await _devices.ListDevicesAsync(new ListDevicesRequest(), cancellationToken: cancellationToken)).Items;

    /// <summary>Gets a device profile (<see cref="StatusCode.NotFound"/> when there is none of that name).</summary>
    public async Task<Device> GetAsync(string name, CancellationToken cancellationToken = default) =>
        await _devices.GetDeviceAsync(new GetDeviceRequest { Name = name }, cancellationToken: cancellationToken);

    /// <summary>Registers a device profile; a taken name is <see cref="StatusCode.AlreadyExists"/>. Not retried.</summary>
    public async Task<Device> CreateAsync(CreateDeviceRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        return await _devices.CreateDeviceAsync(request, cancellationToken: cancellationToken);
    }

    /// <summary>
    /// Stores latencies of a finished run's variants measured on a device, replacing earlier values for the same
    /// (rank fraction, batch); safe to repeat.
    /// </summary>
    public async Task<PostLatenciesResponse> PostLatenciesAsync(
        string device, Guid runId, IEnumerable<LatencyMeasurement> measurements, string? runtime = null, int? threads = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(measurements);
        var request = new PostLatenciesRequest { Device = device, RunId = runId.ToString() };
        request.Measurements.AddRange(measurements);
        if (runtime is not null)
        {
            request.Runtime = runtime;
        }
        if (threads is int t)
        {
            request.Threads = t;
        }
        return await _devices.PostLatenciesAsync(request, cancellationToken: cancellationToken);
    }
}

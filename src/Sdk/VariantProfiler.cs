namespace TrainingService.Sdk;

/// <summary>
/// Times a finished run's ONNX variants on the machine this client runs on and stores the latency table on a device
/// profile (<see cref="TrainingClient.Profiler"/>). It orchestrates the per-service clients (the run's curve, variant
/// downloads, the device profile and its latencies) around local ONNX Runtime timing; every call keeps those clients'
/// retries and errors.
/// </summary>
public sealed class VariantProfiler
{
    private readonly RunsClient _runs;
    private readonly VariantsClient _variants;
    private readonly DevicesClient _devices;

    /// <summary>A profiler over <paramref name="client"/>'s connection (the same as <see cref="TrainingClient.Profiler"/>).</summary>
    public VariantProfiler(TrainingClient client)
        : this(client.Runs, client.Variants, client.Devices)
    {
    }

    internal VariantProfiler(RunsClient runs, VariantsClient variants, DevicesClient devices)
    {
        _runs = runs;
        _variants = variants;
        _devices = devices;
    }

    /// <summary>
    /// Profiles a finished run on the machine this client runs on, like Once-for-All's per-device latency
    /// lookup tables but stored by the service: creates the device profile <paramref name="deviceName"/> if it is
    /// missing (describing this machine's CPU), downloads every ONNX variant of the run (all curve points), times
    /// each with ONNX Runtime (warm-up, then median and p90 at each of <see cref="ProfileOptions.Batches"/>) and
    /// posts the table to the profile. Selection on that device then uses these measurements.
    /// </summary>
    /// <exception cref="InvalidOperationException">The run has not succeeded, so it has no variants.</exception>
    public async Task<LatencyTable> ProfileAsync(Guid runId, string deviceName, ProfileOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new ProfileOptions();
        if (options.Batches.Count == 0 || options.Batches.Any(b => b < 1) || options.Runs < 1 || options.WarmupRuns < 0 || options.IntraOpThreads < 0)
        {
            throw new ArgumentException("Batches must be positive and non-empty, Runs at least 1, WarmupRuns and IntraOpThreads non-negative.", nameof(options));
        }
        await EnsureDeviceAsync(deviceName, options, cancellationToken);
        Curve curve = await _runs.GetCurveAsync(runId, cancellationToken);
        if (curve.Status != RunStatus.Succeeded || curve.Points.Count == 0)
        {
            throw new InvalidOperationException($"Run {runId} is {curve.Status}; only a succeeded run has variants to profile.");
        }
        var timings = new List<VariantTiming>();
        foreach (CurvePoint point in curve.Points.OrderBy(p => p.RankFraction))
        {
            using var model = new MemoryStream();
            await _variants.FetchAsync(runId, point.RankFraction, model, VariantFormat.Onnx, cancellationToken);
            byte[] bytes = model.ToArray();
            timings.AddRange(await Task.Run(() => OnnxTimer.Time(bytes, point.RankFraction, options, cancellationToken), cancellationToken));
        }
        await _devices.PostLatenciesAsync(deviceName, runId, timings.Select(t => new LatencyMeasurement
        {
            RankFraction = t.RankFraction,
            Batch = t.Batch,
            MedianMs = t.MedianMs,
            P90Ms = t.P90Ms,
            Runs = t.Runs,
        }), options.Runtime, options.IntraOpThreads, cancellationToken);
        return new LatencyTable(deviceName, runId, options.Runtime, options.IntraOpThreads, timings);
    }

    private async Task EnsureDeviceAsync(string deviceName, ProfileOptions options, CancellationToken cancellationToken)
    {
        try
        {
            await _devices.GetAsync(deviceName, cancellationToken);
            return;
        }
        catch (RpcException ex) when (ex.StatusCode == StatusCode.NotFound)
        {
        }
        try
        {
            await _devices.CreateAsync(OnnxTimer.DescribeMachine(deviceName, options.DeviceDescription), cancellationToken);
        }
        catch (RpcException ex) when (ex.StatusCode == StatusCode.AlreadyExists)
        {
            // Another profiler created it meanwhile: the same outcome.
        }
    }
}

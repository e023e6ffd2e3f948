using System.Diagnostics.Metrics;
using Infrastructure.Observability;
using Microsoft.Extensions.Hosting;
using Training.Engine;

namespace Worker.Telemetry;

/// <summary>
/// GPU memory of a CUDA worker as OpenTelemetry's hardware conventions name it: <c>hw.gpu.memory.usage</c> and
/// <c>hw.gpu.memory.limit</c> (bytes, attribute <c>hw.id</c> = the torch device, e.g. <c>cuda:0</c>), read from NVML
/// at scrape time (<see cref="Nvml"/>). On a CPU worker, or where NVML cannot be opened, no instrument is created,
/// so nothing is reported.
/// </summary>
/// <remarks>
/// NVML reports the whole GPU (every process on it), not only this worker's tensors. Its device index is NVML's
/// (PCI order); with several GPUs in one container set <c>CUDA_DEVICE_ORDER=PCI_BUS_ID</c> so CUDA numbers them the same.
/// </remarks>
public sealed class GpuMemoryMetrics(TrainingEngine engine, ILogger<GpuMemoryMetrics> logger) : IHostedService, IDisposable
{
    public const string UsageInstrument = "hw.gpu.memory.usage";
    public const string LimitInstrument = "hw.gpu.memory.limit";

    private Meter? _meter;

    /// <summary>Whether the gauges exist (a CUDA device and a working NVML).</summary>
    public bool Enabled => _meter is not null;

    /// <summary>The NVML index of a torch device name (<c>cuda</c> or <c>cuda:N</c>), or null for any other device.</summary>
    public static int? CudaIndex(string device) => device switch
    {
        "cuda" => 0,
        _ when device.StartsWith("cuda:", StringComparison.Ordinal) && int.TryParse(device.AsSpan(5), out int index) && index >= 0 => index,
        _ => null,
    };

    public Task StartAsync(CancellationToken cancellationToken)
    {
        string device = engine.DeviceName;
        if (CudaIndex(device) is not int index)
        {
            return Task.CompletedTask;
        }
        if (Nvml.TryOpen(index, out string? reason) is not { } nvml)
        {
            logger.LogWarning("No GPU memory metrics for {Device}: {Reason}", device, reason);
            return Task.CompletedTask;
        }
        var id = new KeyValuePair<string, object?>("hw.id", device);
        // Its own meter under the service's name (OpenTelemetry listens by name), so the gauges go with this service.
        _meter = new Meter(ServiceTelemetry.Name);
        _meter.CreateObservableUpDownCounter(UsageInstrument,
            () => nvml.TryRead(out long used, out _) ? [new Measurement<long>(used, id)] : Array.Empty<Measurement<long>>(),
            "By", "GPU memory in use (all processes on the GPU).");
        _meter.CreateObservableUpDownCounter(LimitInstrument,
            () => nvml.TryRead(out _, out long total) ? [new Measurement<long>(total, id)] : Array.Empty<Measurement<long>>(),
            "By", "GPU memory size.");
        logger.LogInformation("GPU memory metrics on for {Device} (NVML).", device);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public void Dispose() => _meter?.Dispose();
}

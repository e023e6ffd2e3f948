using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging.Abstractions;
using Worker.Telemetry;

namespace Worker.IntegrationTests;

/// <summary>
/// The GPU memory gauges' no-op path: a CPU worker creates no instrument and reports nothing. The NVML path
/// needs an NVIDIA GPU and is not exercised here.
/// </summary>
public sealed class GpuMemoryMetricsTests
{
    [Theory]
    [InlineData("cuda", 0)]
    [InlineData("cuda:0", 0)]
    [InlineData("cuda:3", 3)]
    [InlineData("cpu", null)]
    [InlineData("cuda:x", null)]
    [InlineData("mps", null)]
    public void CudaIndex_DeviceName_NvmlIndexOrNull(string device, int? expected) =>
        Assert.Equal(expected, GpuMemoryMetrics.CudaIndex(device));

    [Fact]
    public async Task Start_CpuWorker_CreatesNoInstrumentAndReportsNothing()
    {
        var published = new List<string>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Name.StartsWith("hw.gpu.", StringComparison.Ordinal))
                {
                    lock (published)
                    {
                        published.Add(instrument.Name);
                    }
                }
            },
        };
        listener.Start();
        var engine = new TrainingEngine(new TrainingEngineOptions { Device = "cpu" });
        using var metrics = new GpuMemoryMetrics(engine, NullLogger<GpuMemoryMetrics>.Instance);

        await metrics.StartAsync(CancellationToken.None);
        listener.RecordObservableInstruments();

        Assert.False(metrics.Enabled);
        Assert.Empty(published);
        await metrics.StopAsync(CancellationToken.None);
    }
}

namespace TrainingService.Sdk;

/// <summary>How <see cref="VariantProfiler.ProfileAsync"/> times a run's variants with ONNX Runtime on this machine.</summary>
public sealed class ProfileOptions
{
    /// <summary>Batch sizes to time each variant at (default batch 1 only; e.g. <c>[1, 32]</c> adds a larger batch).</summary>
    public IReadOnlyList<int> Batches { get; set; } = [1];

    /// <summary>Untimed runs before timing starts (session warm-up, caches, lazy allocations).</summary>
    public int WarmupRuns { get; set; } = 10;

    /// <summary>Timed runs per variant and batch; the median and p90 are taken over these.</summary>
    public int Runs { get; set; } = 50;

    /// <summary>ONNX Runtime intra-op threads (1 by default: the least noisy figure, and what a phone app usually gets; 0 lets ONNX Runtime choose).</summary>
    public int IntraOpThreads { get; set; } = 1;

    /// <summary>The runtime label stored with the latencies (at most 64 characters).</summary>
    public string Runtime { get; set; } = "onnxruntime-cpu";

    /// <summary>Description of the device profile when it has to be created; null describes this machine's OS and CPU.</summary>
    public string? DeviceDescription { get; set; }

    /// <summary>Seed of the uniform [0, 1) inputs fed to the variants.</summary>
    public int Seed { get; set; } = 1;

    /// <summary>Hears about every timing as soon as it is taken.</summary>
    public IProgress<VariantTiming>? Progress { get; set; }
}

/// <summary>The latency of one variant at one batch size, timed on this machine.</summary>
/// <param name="RankFraction">The variant (a point of the run's curve).</param>
/// <param name="Batch">Samples per inference.</param>
/// <param name="MedianMs">Median wall time of one inference, milliseconds.</param>
/// <param name="P90Ms">90th percentile (nearest rank), milliseconds.</param>
/// <param name="Runs">Timed runs behind the figures.</param>
public sealed record VariantTiming(double RankFraction, int Batch, double MedianMs, double P90Ms, int Runs);

/// <summary>The latency table <see cref="VariantProfiler.ProfileAsync"/> measured and stored on the device profile.</summary>
/// <param name="Device">The device profile the table was posted to.</param>
/// <param name="RunId">The run whose variants were timed.</param>
/// <param name="Runtime">The runtime label stored with the latencies.</param>
/// <param name="Threads">ONNX Runtime intra-op threads used.</param>
/// <param name="Timings">One row per curve point and batch size, by rank fraction then batch.</param>
public sealed record LatencyTable(string Device, Guid RunId, string Runtime, int Threads, IReadOnlyList<VariantTiming> Timings);

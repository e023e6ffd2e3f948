using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Infrastructure.Observability;

/// <summary>
/// The service's own traces and metrics, shared by the Api and the workers. Names follow the OpenTelemetry
/// semantic conventions (dotted lower-case names, UCUM units, bounded attributes); the Prometheus exporter
/// turns <c>tas.training.epoch.duration</c> with unit <c>s</c> into <c>tas_training_epoch_duration_seconds</c>.
/// No metric attribute takes unbounded values (no job or run ids: those go on spans only).
/// </summary>
public static class ServiceTelemetry
{
    /// <summary>Name of the <see cref="ActivitySource"/> and the <see cref="Meter"/>.</summary>
    public const string Name = "TrainingService";

    /// <summary>Attribute on training metrics: <c>cpu</c> or <c>cuda:0</c>.</summary>
    public const string DeviceAttribute = "tas.training.device";

    /// <summary>Span attributes of a job attempt.</summary>
    public const string JobIdAttribute = "tas.job.id";
    public const string RunIdAttribute = "tas.run.id";
    public const string AttemptAttribute = "tas.job.attempt";

    public static readonly ActivitySource ActivitySource = new(Name);

    // A static meter, as OpenTelemetry's own examples do: instruments are stateless and every
    // MeterProvider of the process (the Api's, the worker listener's, a test's) sees the same measurements.
    public static readonly Meter Meter = new(Name);

    /// <summary>Wall time of one job attempt on a worker (Hangfire performing <c>ITrainingJob.Run</c>); <c>error.type</c> when it threw.</summary>
    public static readonly Histogram<double> JobDuration = Meter.CreateHistogram<double>(
        "tas.job.duration", "s", "Duration of one training job attempt on a worker.");

    /// <summary>Wall time of one training epoch (as the engine reports it).</summary>
    public static readonly Histogram<double> EpochDuration = Meter.CreateHistogram<double>(
        "tas.training.epoch.duration", "s", "Duration of one training epoch.");

    /// <summary>Training samples per second of the latest epoch on this worker.</summary>
    public static readonly Gauge<double> Throughput = Meter.CreateGauge<double>(
        "tas.training.throughput", "{sample}/s", "Training samples per second in the latest epoch.");

    /// <summary>The epoch the latest training on this worker completed (1-based, over all stages).</summary>
    public static readonly Gauge<int> CurrentEpoch = Meter.CreateGauge<int>(
        "tas.training.epoch", "{epoch}", "Latest completed epoch of the training on this worker.");

    /// <summary>Completed epochs, for rates (epochs per minute over the fleet).</summary>
    public static readonly Counter<long> EpochsCompleted = Meter.CreateCounter<long>(
        "tas.training.epochs", "{epoch}", "Completed training epochs.");

    /// <summary>Training samples processed, for fleet throughput (<c>rate()</c>).</summary>
    public static readonly Counter<long> SamplesTrained = Meter.CreateCounter<long>(
        "tas.training.samples", "{sample}", "Training samples processed.");

    /// <summary>Pricing and choosing a variant for a device and latency budget; <c>tas.selection.outcome</c> = selected or none.</summary>
    public static readonly Histogram<double> SelectionDuration = Meter.CreateHistogram<double>(
        "tas.variant.selection.duration", "s", "Duration of a variant selection (pricing plus choice).");

    /// <summary>Attribute on the sweep counters: <c>staged</c> (an abandoned staged file) or <c>orphan</c> (an artifact file without a row).</summary>
    public const string SweepKindAttribute = "tas.storage.sweep.kind";

    /// <summary>Files the storage sweeper deleted, by <see cref="SweepKindAttribute"/>.</summary>
    public static readonly Counter<long> SweptFiles = Meter.CreateCounter<long>(
        "tas.storage.sweep.files", "{file}", "Abandoned staged files and orphaned artifact files deleted by the storage sweeper.");

    /// <summary>Bytes the storage sweeper freed, by <see cref="SweepKindAttribute"/>.</summary>
    public static readonly Counter<long> SweptBytes = Meter.CreateCounter<long>(
        "tas.storage.sweep.size", "By", "Bytes freed by the storage sweeper.");

    /// <summary>Bytes received in dataset uploads (including uploads later rejected).</summary>
    public static readonly Counter<long> UploadSize = Meter.CreateCounter<long>(
        "tas.dataset.upload.size", "By", "Bytes received in dataset uploads.");
}

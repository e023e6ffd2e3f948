namespace Worker;

/// <summary>Section <c>Worker</c>: how this process trains.</summary>
public sealed class WorkerOptions
{
    public const string SectionName = "Worker";

    /// <summary><c>auto</c> (CUDA when a GPU is visible), <c>cpu</c> or <c>cuda</c>.</summary>
    public string Device { get; set; } = "auto";

    /// <summary>Torch intra-op threads; 0 keeps libtorch's default (one per core).</summary>
    public int Threads { get; set; }

    /// <summary>Concurrent trainings in this process: one per GPU (and one on CPU, which a training already saturates).</summary>
    public int Concurrency { get; set; } = 1;

    /// <summary>
    /// Whether the Api process also runs the worker. Null: yes with the embedded SQLite default, no with
    /// PostgreSQL (where workers are separate processes that share the Hangfire queue).
    /// </summary>
    public bool? InProcess { get; set; }

    /// <summary>Timed runs per variant latency measurement (after 10 warm-up runs), at least.</summary>
    public int LatencyMinRuns { get; set; } = 50;

    /// <summary>Measured time per variant latency measurement, at least.</summary>
    public TimeSpan LatencyMinimumTotal { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// Port of the standalone worker's HTTP listener: <c>/metrics</c> (Prometheus), <c>/health/live</c> and
    /// <c>/health/ready</c>. 9464 is the usual Prometheus exporter port. Unused by the worker inside the Api.
    /// </summary>
    public int MetricsPort { get; set; } = 9464;

    /// <summary>How often a running training checks the database for a cancel request.</summary>
    public TimeSpan CancelPollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How long a job's lease lasts without renewal. A training worker renews it every third of this; after a crash
    /// or a pause longer than this another worker (or recovery) takes the job over from its last checkpoint.
    /// </summary>
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// How long a training worker keeps retrying the database when it is unreachable (its checkpoint stays on disk,
    /// training waits); past this the attempt ends and recovery re-queues the job once the database is back.
    /// </summary>
    public TimeSpan DatabaseOutageTimeout { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// On SIGTERM a worker finishes (and records) its current epoch, hands the job back and exits within this; an
    /// epoch that cannot end in three quarters of it is abandoned (the job resumes from the epoch before).
    /// </summary>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How often each worker's reconciler re-queues jobs whose lease lapsed and Queued jobs without a live queue
    /// entry, and completes cancels of jobs no worker holds. Safe with several workers.
    /// </summary>
    public TimeSpan ReconcileInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>A Queued job younger than this is left alone by the reconciler (its submission may still be enqueuing it).</summary>
    public TimeSpan ReconcileGracePeriod { get; set; } = TimeSpan.FromMinutes(1);
}

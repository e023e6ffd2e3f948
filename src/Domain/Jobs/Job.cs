namespace Domain.Jobs;

/// <summary>A submitted training request and its lifecycle. The spec is stored verbatim as JSON.</summary>
public sealed class Job : Tenants.ITenantOwned
{
    public Guid Id { get; set; }

    public Guid TenantId { get; set; }

    public Guid DatasetId { get; set; }

    public required string SpecJson { get; set; }

    public JobStatus Status { get; set; } = JobStatus.Queued;

    public DateTime CreatedAt { get; set; }

    public DateTime? StartedAt { get; set; }

    public DateTime? FinishedAt { get; set; }

    /// <summary>How many times a worker has started this job (retries after a crash resume from the checkpoint).</summary>
    public int Attempts { get; set; }

    public bool CancelRequested { get; set; }

    /// <summary>Client-supplied <c>Idempotency-Key</c>; unique when present.</summary>
    public string? IdempotencyKey { get; set; }

    /// <summary>sha256 of the request body sent with <see cref="IdempotencyKey"/>, to refuse a reused key with a different body.</summary>
    public string? RequestHash { get; set; }

    /// <summary>The background-job id of the queue entry running this job.</summary>
    public string? QueueJobId { get; set; }

    public int Epoch { get; set; }

    public int Epochs { get; set; }

    public string? Error { get; set; }

    /// <summary>The worker that holds this job's lease (null when no worker does).</summary>
    public string? LeaseOwner { get; set; }

    /// <summary>
    /// Fencing token: incremented at every lease acquisition. A worker's writes for the job are conditional on the
    /// token it acquired, so a worker that lost its lease (paused, partitioned) can no longer write.
    /// </summary>
    public long LeaseToken { get; set; }

    /// <summary>When the lease lapses unless its owner renews it; after that another worker or recovery may take the job.</summary>
    public DateTime? LeaseExpiresAt { get; set; }

    public List<Runs.Run> Runs { get; set; } = [];

    public bool IsFinished => Status is JobStatus.Succeeded or JobStatus.Failed or JobStatus.Cancelled;
}

/// <summary>
/// A job's lifecycle: <c>Queued</c> until a worker picks it up, <c>Running</c> while it trains, then one of
/// <c>Succeeded</c>, <c>Failed</c> (see its error) or <c>Cancelled</c>. Sent as these strings.
/// </summary>
public enum JobStatus
{
    Queued,
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

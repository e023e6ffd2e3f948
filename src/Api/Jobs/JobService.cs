using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Api.Auth;
using Api.Common;
using Infrastructure.Jobs;

namespace Api.Jobs;

/// <summary>One poll of a watched job (gRPC WatchJob): the job, its run ids oldest first, and the new epochs in order.</summary>
public sealed record JobWatchState(Job Job, IReadOnlyList<Guid> RunIds, IReadOnlyList<EpochMetric> Epochs);

/// <summary>
/// Submits, reads, lists and cancels jobs for <see cref="JobsApi"/> and the gRPC <c>JobService</c>. Validation covers the
/// whole spec against its dataset. Failures are exceptions (<see cref="DomainValidationException"/>,
/// <see cref="NotFoundException"/>, <see cref="ConflictException"/>), which each transport maps to its own status.
/// </summary>
public sealed class JobService(AppDbContext db, ITrainingQueue queue, SubmissionGate gate, TimeProvider clock, CurrentTenant tenant, ILogger<JobService> logger)
{
    public const int MaxIdempotencyKeyLength = 200;

    /// <summary>Creates and enqueues a job; with an idempotency key a repeated request returns the first job.</summary>
    public async Task<(Job Job, bool Created)> SubmitAsync(string body, string? idempotencyKey, CancellationToken cancellationToken)
    {
        if (idempotencyKey is not null && (string.IsNullOrWhiteSpace(idempotencyKey) || idempotencyKey.Length > MaxIdempotencyKeyLength))
        {
            throw new DomainValidationException("Idempotency-Key", $"must be 1 to {MaxIdempotencyKeyLength} characters, not all blank (was {idempotencyKey.Length} characters).");
        }
        string requestHash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(body)));
        using IDisposable slot = await gate.EnterAsync(cancellationToken);
        if (idempotencyKey is not null && await FindByKeyAsync(idempotencyKey, requestHash, cancellationToken) is { } existing)
        {
            return (existing, false);
        }

        JobSpec spec = JobSpec.Parse(body);
        Dataset? dataset = spec.DatasetId == Guid.Empty ? null
            : await db.Datasets.AsNoTracking().SingleOrDefaultAsync(d => d.Id == spec.DatasetId, cancellationToken);
        var errors = spec.Validate(dataset?.Shape, dataset?.Classes).ToList();
        if (dataset is null && spec.DatasetId != Guid.Empty)
        {
            errors.Insert(0, new ValidationError("datasetId", $"dataset '{spec.DatasetId}' does not exist."));
        }
        if (errors.Count > 0)
        {
            throw new DomainValidationException(errors);
        }

        JobSpec stored = spec.Normalized();
        var job = new Job
        {
            Id = Guid.CreateVersion7(),
            TenantId = tenant.Id,
            DatasetId = spec.DatasetId,
            SpecJson = stored.ToJson(),
            Status = JobStatus.Queued,
            CreatedAt = clock.GetUtcNow().UtcDateTime,
            IdempotencyKey = idempotencyKey,
            RequestHash = idempotencyKey is null ? null : requestHash,
            Epochs = StagePlan.From(stored).TotalEpochs,
        };
        db.Jobs.Add(job);
        try
        {
            await db.SaveChangesAsync(cancellationToken);
        }
        catch (DbUpdateException ex) when (idempotencyKey is not null && UniqueViolations.Involves(ex, nameof(Job.IdempotencyKey)))
        {
            // A concurrent request with the same key won the race.
            db.ChangeTracker.Clear();
            return (await FindByKeyAsync(idempotencyKey, requestHash, cancellationToken)
                ?? throw new ConflictException("A job with this Idempotency-Key is being created; retry."), false);
        }

        // The queue (Hangfire's storage) cannot join this transaction, so the row comes first: if this process dies
        // before the entry is recorded, the workers' reconciler enqueues the job (Worker:ReconcileGracePeriod).
        string? entry;
        try
        {
            entry = queue.Enqueue(job.Id);
        }
        catch (Exception ex)
        {
            logger.LogError(ex, "Could not enqueue job {JobId}; removing it.", job.Id);
            await db.Jobs.Where(j => j.Id == job.Id && j.Status == JobStatus.Queued).ExecuteDeleteAsync(CancellationToken.None);
            throw;
        }
        job.QueueJobId = entry;
        // Conditional: a reconciler (or a worker) may have touched the row meanwhile; the entry is what matters.
        await db.Jobs.Where(j => j.Id == job.Id && j.QueueJobId == null)
            .ExecuteUpdateAsync(s => s.SetProperty(j => j.QueueJobId, entry), CancellationToken.None);
        return (job, true);
    }

    /// <summary>Asks a job to stop: a queued one is cancelled at once, a running one within seconds; a finished one is a conflict.</summary>
    public async Task<JobResponse> CancelAsync(Guid id, CancellationToken cancellationToken)
    {
        Job job = await db.Jobs.Include(j => j.Runs).SingleOrDefaultAsync(j => j.Id == id, cancellationToken)
            ?? throw new NotFoundException("Job", id);
        if (job.IsFinished)
        {
            throw new ConflictException($"Job {id} is already {job.Status}.");
        }
        // Conditional updates, not a tracked save: the worker holding the job writes the same row.
        int requested = await db.Jobs.Where(j => j.Id == id && j.Status != JobStatus.Succeeded && j.Status != JobStatus.Failed && j.Status != JobStatus.Cancelled)
            .ExecuteUpdateAsync(s => s.SetProperty(j => j.CancelRequested, true), cancellationToken);
        if (requested == 0)
        {
            Job now = await db.Jobs.AsNoTracking().SingleAsync(j => j.Id == id, cancellationToken);
            throw new ConflictException($"Job {id} is already {now.Status}.");
        }
        // Queued (never started, or handed back between attempts): no worker holds it, so the cancel completes here.
        // Running: the worker holding the lease stops within Worker:CancelPollInterval; if it is dead, recovery
        // completes the cancel when its lease lapses.
        JobLeases.CompleteQueuedCancel(db, id, clock.GetUtcNow().UtcDateTime);
        if (job.QueueJobId is not null)
        {
            // Deletes a queued entry; for a running one Hangfire fires the job's cancellation token.
            queue.Cancel(job.QueueJobId);
        }
        db.ChangeTracker.Clear();
        return await ToResponseAsync(await db.Jobs.AsNoTracking().Include(j => j.Runs).SingleAsync(j => j.Id == id, cancellationToken), cancellationToken);
    }

    /// <summary>The job with its runs and latest metrics; 404 for an unknown id or another tenant's.</summary>
    public async Task<JobResponse> GetAsync(Guid id, CancellationToken cancellationToken)
    {
        Job job = await db.Jobs.AsNoTracking().Include(j => j.Runs).SingleOrDefaultAsync(j => j.Id == id, cancellationToken)
            ?? throw new NotFoundException("Job", id);
        return await ToResponseAsync(job, cancellationToken);
    }

    /// <summary>Jobs newest first; every filter is optional and every invalid one is reported at once.</summary>
    public async Task<Page<JobResponse>> ListAsync(
        JobStatus? status, Guid? datasetId, int offset, int limit, DateTimeOffset? createdAfter, DateTimeOffset? createdBefore,
        CancellationToken cancellationToken)
    {
        var rules = new Rules();
        (offset, limit) = Paging.Clamp(rules, offset, limit);
        TimeWindow created = TimeWindow.Check(rules, "createdAfter", createdAfter, "createdBefore", createdBefore);
        rules.ThrowIfInvalid();
        IQueryable<Job> query = created.Apply(db.Jobs.AsNoTracking(), j => j.CreatedAt);
        if (status is not null)
        {
            query = query.Where(j => j.Status == status);
        }
        if (datasetId is not null)
        {
            query = query.Where(j => j.DatasetId == datasetId);
        }
        int total = await query.CountAsync(cancellationToken);
        List<Job> jobs = await query.Include(j => j.Runs).OrderByDescending(j => j.CreatedAt).ThenBy(j => j.Id)
            .Skip(offset).Take(limit).ToListAsync(cancellationToken);
        var items = new List<JobResponse>(jobs.Count);
        foreach (Job job in jobs)
        {
            items.Add(await ToResponseAsync(job, cancellationToken));
        }
        return new Page<JobResponse>(items, total, offset, limit);
    }

    /// <summary>
    /// One poll of a watched job: the job, its run ids (oldest first) and the epochs after <paramref name="afterEpoch"/>.
    /// The job is read first: a finished job's epochs are all written before its final status.
    /// </summary>
    public async Task<JobWatchState> WatchStateAsync(Guid id, int afterEpoch, CancellationToken cancellationToken)
    {
        Job job = await db.Jobs.AsNoTracking().Include(j => j.Runs).SingleOrDefaultAsync(j => j.Id == id, cancellationToken)
            ?? throw new NotFoundException("Job", id);
        List<Guid> runIds = job.Runs.OrderBy(r => r.Index).Select(r => r.Id).ToList();
        List<EpochMetric> epochs = runIds.Count == 0 ? []
            : await db.EpochMetrics.AsNoTracking().Where(m => runIds.Contains(m.RunId) && m.Epoch > afterEpoch)
                .OrderBy(m => m.Epoch).ToListAsync(cancellationToken);
        return new JobWatchState(job, runIds, epochs);
    }

    /// <summary>The response for a job read with its runs: run ids oldest first, and the latest epoch's metrics.</summary>
    public async Task<JobResponse> ToResponseAsync(Job job, CancellationToken cancellationToken)
    {
        List<Guid> runIds = job.Runs.OrderBy(r => r.Index).Select(r => r.Id).ToList();
        EpochMetric? latest = runIds.Count == 0 ? null
            : await db.EpochMetrics.AsNoTracking().Where(m => runIds.Contains(m.RunId))
                .OrderByDescending(m => m.Epoch).FirstOrDefaultAsync(cancellationToken);
        return new JobResponse(
            job.Id, job.Status, job.DatasetId, new JobProgress(job.Epoch, job.Epochs), runIds,
            latest is null ? null : MetricResponse.From(latest), job.Error, job.Attempts, job.CancelRequested,
            job.CreatedAt, job.StartedAt, job.FinishedAt,
            JsonSerializer.Deserialize<JsonElement>(job.SpecJson));
    }

    private async Task<Job?> FindByKeyAsync(string key, string requestHash, CancellationToken cancellationToken)
    {
        Job? job = await db.Jobs.AsNoTracking().Include(j => j.Runs).SingleOrDefaultAsync(j => j.IdempotencyKey == key, cancellationToken);
        if (job is not null && job.RequestHash != requestHash)
        {
            throw new ConflictException("This Idempotency-Key was already used with a different request body.");
        }
        return job;
    }
}

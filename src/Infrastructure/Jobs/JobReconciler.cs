using Microsoft.Extensions.Logging;
using Hangfire;
using Hangfire.Storage;
using Infrastructure.Data;

namespace Infrastructure.Jobs;

/// <summary>What one reconciliation pass did.</summary>
public sealed record ReconcileResult(int LapsedRequeued, int LapsedCancelled, int Reenqueued, int CancelsCompleted)
{
    public int Total => LapsedRequeued + LapsedCancelled + Reenqueued + CancelsCompleted;
}

/// <summary>
/// Closes the gaps a crash leaves between the job table and the queue: Running jobs whose lease lapsed go back to
/// Queued (or Cancelled, when a cancel was requested) and are re-enqueued; Queued jobs whose queue entry is gone (a
/// submission that crashed before enqueuing, a queue entry Hangfire gave up on) are enqueued again; cancels of
/// Queued jobs are completed. Every change is a conditional UPDATE, so several reconcilers may run at once.
/// </summary>
public sealed class JobReconciler(AppDbContext db, ITrainingQueue queue, JobStorage storage, TimeProvider clock, ILogger<JobReconciler> logger)
{
    /// <summary>Hangfire states in which a queue entry will still run (or is running).</summary>
    private static readonly HashSet<string> s_liveStates = ["Enqueued", "Processing", "Scheduled", "Awaiting"];

    /// <param name="gracePeriod">A Queued job with no queue id younger than this is left alone (its submission may be enqueuing it).</param>
    public ReconcileResult Reconcile(TimeSpan gracePeriod)
    {
        DateTime now = clock.GetUtcNow().UtcDateTime;
        int requeued = 0, lapsedCancelled = 0, reenqueued = 0, cancels = 0;

        var lapsed = db.Jobs.AsNoTracking()
            .Where(JobLeases.Lapsed(now))
            .Select(j => new { j.Id, j.LeaseToken, j.LeaseOwner, j.CancelRequested, j.QueueJobId }).ToList();
        foreach (var job in lapsed)
        {
            switch (JobLeases.RecoverLapsed(db, job.Id, job.LeaseToken, job.CancelRequested, now))
            {
                case JobStatus.Cancelled:
                    lapsedCancelled++;
                    logger.LogWarning("Job {JobId}: lease of {Owner} lapsed with a cancel pending; cancelled.", job.Id, job.LeaseOwner);
                    break;
                case JobStatus.Queued:
                    requeued++;
                    logger.LogWarning("Job {JobId}: lease of {Owner} (token {Token}) lapsed; re-queued to resume from its checkpoint.",
                        job.Id, job.LeaseOwner, job.LeaseToken);
                    Enqueue(job.Id, job.QueueJobId);
                    break;
            }
        }

        var queued = db.Jobs.AsNoTracking()
            .Where(j => j.Status == JobStatus.Queued)
            .Select(j => new { j.Id, j.QueueJobId, j.CancelRequested, j.CreatedAt }).ToList();
        foreach (var job in queued)
        {
            if (job.CancelRequested)
            {
                if (JobLeases.CompleteQueuedCancel(db, job.Id, now))
                {
                    cancels++;
                    logger.LogInformation("Job {JobId}: cancel completed by recovery.", job.Id);
                }
                continue;
            }
            bool dead = job.QueueJobId is null ? job.CreatedAt < now - gracePeriod : !IsLive(job.QueueJobId);
            if (dead && Enqueue(job.Id, job.QueueJobId))
            {
                reenqueued++;
                logger.LogWarning("Job {JobId}: Queued without a live queue entry (was {QueueJobId}); enqueued again.",
                    job.Id, job.QueueJobId ?? "none");
            }
        }
        return new ReconcileResult(requeued, lapsedCancelled, reenqueued, cancels);
    }

    private bool IsLive(string queueJobId)
    {
        using IStorageConnection connection = storage.GetConnection();
        JobData? data = connection.GetJobData(queueJobId);
        return data?.State is { } state && s_liveStates.Contains(state);
    }

    /// <summary>
    /// Enqueues the job and records the entry, unless another reconciler already replaced <paramref name="previous"/>.
    /// A worker may take the new entry before it is recorded (the job is Running by then), so the record is conditional
    /// on the previous entry only; a losing duplicate is withdrawn only if no worker has taken it (a taken one finds the
    /// lease held and leaves the job to its owner).
    /// </summary>
    private bool Enqueue(Guid jobId, string? previous)
    {
        string entry = queue.Enqueue(jobId);
        int changed = db.Jobs.Where(j => j.Id == jobId && j.QueueJobId == previous)
            .ExecuteUpdate(s => s.SetProperty(j => j.QueueJobId, entry));
        if (changed == 0)
        {
            queue.Withdraw(entry);
            return false;
        }
        return true;
    }
}

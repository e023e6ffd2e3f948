using System.Linq.Expressions;
using Infrastructure.Data;

namespace Infrastructure.Jobs;

/// <summary>A worker's hold on one job: its owner id and the fencing token it acquired.</summary>
public sealed record JobLease(Guid JobId, string Owner, long Token);

/// <summary>Thrown when a write for a job is refused because the writer no longer holds the job's lease.</summary>
public sealed class LeaseLostException(Guid jobId, long token)
    : Exception($"Job {jobId}: the lease with fencing token {token} is no longer held; another worker or recovery owns the job.")
{
    public Guid JobId { get; } = jobId;
}

/// <summary>
/// Lease operations on the job row. Every one is a single conditional UPDATE, so it is atomic on PostgreSQL
/// and SQLite and safe when several workers (or reconcilers) race: at most one of them changes the row.
/// </summary>
public static class JobLeases
{
    /// <summary>
    /// Takes the lease of a job that is Queued, or Running under a lapsed lease (or none: a job started before leases): Running, attempts + 1, a new
    /// fencing token. Null when the job is finished, cancelled, or held by a live lease.
    /// </summary>
    public static JobLease? TryAcquire(AppDbContext db, Guid jobId, string owner, DateTime now, TimeSpan duration)
    {
        // The token read here makes the UPDATE below a compare-and-swap; its WHERE alone decides whether the job is free.
        long? seen = db.Jobs.AsNoTracking().Where(j => j.Id == jobId).Select(j => (long?)j.LeaseToken).SingleOrDefault();
        if (seen is not long current)
        {
            return null;
        }
        long token = current + 1;
        int changed = db.Jobs
            .Where(j => j.Id == jobId && j.LeaseToken == current && !j.CancelRequested
                && (j.Status == JobStatus.Queued || (j.Status == JobStatus.Running && (j.LeaseExpiresAt == null || j.LeaseExpiresAt < now))))
            .ExecuteUpdate(s => s
                .SetProperty(j => j.Status, JobStatus.Running)
                .SetProperty(j => j.LeaseOwner, owner)
                .SetProperty(j => j.LeaseToken, token)
                .SetProperty(j => j.LeaseExpiresAt, now + duration)
                .SetProperty(j => j.Attempts, j => j.Attempts + 1)
                .SetProperty(j => j.StartedAt, j => j.StartedAt ?? now)
                .SetProperty(j => j.Error, (string?)null));
        return changed == 1 ? new JobLease(jobId, owner, token) : null;
    }

    /// <summary>Running jobs whose lease lapsed before <paramref name="now"/> (or that have none: started before leases).</summary>
    public static Expression<Func<Job, bool>> Lapsed(DateTime now) =>
        j => j.Status == JobStatus.Running && (j.LeaseExpiresAt == null || j.LeaseExpiresAt < now);

    /// <summary>Extends the lease; false when it is no longer held (the token moved on or the job left Running).</summary>
    public static bool Renew(AppDbContext db, JobLease lease, DateTime now, TimeSpan duration) =>
        Held(db, lease).ExecuteUpdate(s => s.SetProperty(j => j.LeaseExpiresAt, now + duration)) == 1;

    /// <summary>
    /// Hands a job back to the queue (<c>Running → Queued</c>, lease released) with an optional note in its error;
    /// false when the lease was already lost.
    /// </summary>
    public static bool Release(AppDbContext db, JobLease lease, string? error) =>
        Held(db, lease).ExecuteUpdate(s => s
            .SetProperty(j => j.Status, JobStatus.Queued)
            .SetProperty(j => j.LeaseOwner, (string?)null)
            .SetProperty(j => j.LeaseExpiresAt, (DateTime?)null)
            .SetProperty(j => j.Error, error)) == 1;

    /// <summary>The job row while <paramref name="lease"/> holds it: the condition of every fenced write.</summary>
    public static IQueryable<Job> Held(AppDbContext db, JobLease lease) =>
        db.Jobs.Where(j => j.Id == lease.JobId && j.LeaseToken == lease.Token && j.LeaseOwner == lease.Owner && j.Status == JobStatus.Running);

    /// <summary>
    /// Recovery: a Running job whose lease lapsed before <paramref name="now"/> becomes Queued (or Cancelled when a
    /// cancel was requested) with its lease cleared. Conditional on the token seen, so one reconciler wins.
    /// </summary>
    public static JobStatus? RecoverLapsed(AppDbContext db, Guid jobId, long token, bool cancelRequested, DateTime now)
    {
        IQueryable<Job> lapsed = db.Jobs.Where(Lapsed(now)).Where(j => j.Id == jobId && j.LeaseToken == token);
        int changed = cancelRequested
            ? lapsed.ExecuteUpdate(s => s
                .SetProperty(j => j.Status, JobStatus.Cancelled)
                .SetProperty(j => j.FinishedAt, now)
                .SetProperty(j => j.LeaseOwner, (string?)null)
                .SetProperty(j => j.LeaseExpiresAt, (DateTime?)null))
            : lapsed.ExecuteUpdate(s => s
                .SetProperty(j => j.Status, JobStatus.Queued)
                .SetProperty(j => j.LeaseOwner, (string?)null)
                .SetProperty(j => j.LeaseExpiresAt, (DateTime?)null));
        if (changed == 1 && cancelRequested)
        {
            SettleRuns(db, jobId, RunStatus.Cancelled, now);
        }
        return changed == 1 ? (cancelRequested ? JobStatus.Cancelled : JobStatus.Queued) : null;
    }

    /// <summary>A cancel of a job no worker holds (<c>Queued → Cancelled</c>); false when the job is not Queued any more.</summary>
    public static bool CompleteQueuedCancel(AppDbContext db, Guid jobId, DateTime now)
    {
        int changed = db.Jobs.Where(j => j.Id == jobId && j.Status == JobStatus.Queued && j.CancelRequested)
            .ExecuteUpdate(s => s
                .SetProperty(j => j.Status, JobStatus.Cancelled)
                .SetProperty(j => j.FinishedAt, now)
                .SetProperty(j => j.LeaseOwner, (string?)null)
                .SetProperty(j => j.LeaseExpiresAt, (DateTime?)null));
        if (changed == 1)
        {
            SettleRuns(db, jobId, RunStatus.Cancelled, now);
        }
        return changed == 1;
    }

    /// <summary>Runs of a job that ended without its worker finishing them take the job's final status.</summary>
    private static void SettleRuns(AppDbContext db, Guid jobId, RunStatus status, DateTime now) =>
        db.Runs.Where(r => r.JobId == jobId && r.Status == RunStatus.Running)
            .ExecuteUpdate(s => s.SetProperty(r => r.Status, status).SetProperty(r => r.FinishedAt, now));
}

using Infrastructure.Data;
using Infrastructure.Jobs;

namespace Worker.Jobs;

/// <summary>
/// Every database write a worker makes for a job goes through here: one transaction that first renews the job's
/// lease with a conditional UPDATE on its fencing token (which also locks the row until commit), so a worker that
/// lost the lease has its write refused (<see cref="LeaseLostException"/>) and nothing of it lands.
/// </summary>
public sealed class JobWriter(AppDbContext db, JobLease lease, WorkerOptions options, TimeProvider clock, ILogger logger)
{
    public JobLease Lease => lease;

    /// <summary>
    /// Runs <paramref name="unit"/> (which re-reads what it needs: it may run more than once) in a fenced transaction,
    /// retrying transient database failures for up to <see cref="WorkerOptions.DatabaseOutageTimeout"/>.
    /// </summary>
    public void Write(Action<AppDbContext> unit, CancellationToken cancellationToken = default) =>
        DatabaseErrors.Retry(
            () =>
            {
                db.ChangeTracker.Clear();
                using var tx = db.Database.BeginTransaction();
                Fence();
                unit(db);
                db.SaveChanges();
                tx.Commit();
                return true;
            },
            options.DatabaseOutageTimeout,
            (ex, delay) => logger.LogWarning("Job {JobId}: database unavailable ({Error}); keeping the work, retrying in {Delay}s.",
                lease.JobId, ex.Message, delay.TotalSeconds),
            cancellationToken);

    /// <summary>Commits the rows already tracked on the job's context, fenced; no retry (the caller's step is idempotent).</summary>
    public void SaveChanges()
    {
        using var tx = db.Database.BeginTransaction();
        Fence();
        db.SaveChanges();
        tx.Commit();
    }

    private void Fence()
    {
        if (db.Database.IsNpgsql())
        {
            // The renewal below locks the job row until commit. A worker paused (SIGSTOP, a long GC, a frozen VM) inside
            // this transaction would hold that lock, and block the worker taking over, for as long as it stays paused:
            // PostgreSQL ends the transaction (and frees the row) once it has been idle this long.
            string idleMs = ((long)Math.Max(1000, options.LeaseDuration.TotalMilliseconds / 3)).ToString(System.Globalization.CultureInfo.InvariantCulture);
            db.Database.ExecuteSql($"SELECT set_config('idle_in_transaction_session_timeout', {idleMs}, true)");
        }
        if (!JobLeases.Renew(db, lease, clock.GetUtcNow().UtcDateTime, options.LeaseDuration))
        {
            throw new LeaseLostException(lease.JobId, lease.Token);
        }
    }
}

using Hangfire;
using Infrastructure.Jobs;

namespace Api.Workers;

/// <summary>A job a worker is processing; <see cref="JobId"/> is absent when the job belongs to another tenant.</summary>
/// <param name="JobId">The job, when it is one of your tenant's.</param>
/// <param name="StartedAt">When the worker started it (UTC).</param>
public sealed record WorkerJobResponse(Guid? JobId, DateTime? StartedAt);

/// <summary>
/// A live training worker. <see cref="Status"/> is <c>busy</c> while it processes a job (any tenant's) and
/// <c>idle</c> otherwise; <see cref="Slots"/> is its Hangfire worker count on the training queue (jobs it runs at
/// once). Devices and versions are null when the worker did not announce them.
/// </summary>
/// <param name="Id">Hangfire's server id of the worker.</param>
/// <param name="Host">The machine (or pod) it runs on.</param>
/// <param name="Devices">The training devices it uses, e.g. <c>cuda:0</c> or <c>cpu</c>.</param>
/// <param name="TorchSharpVersion">Its TorchSharp version.</param>
/// <param name="LibTorchVersion">Its libtorch version.</param>
/// <param name="Slots">Jobs it runs at once.</param>
/// <param name="Status"><c>busy</c> or <c>idle</c>.</param>
/// <param name="CurrentJobs">The jobs it is processing.</param>
/// <param name="StartedAt">When it started (UTC).</param>
/// <param name="LastHeartbeat">Its last heartbeat (UTC).</param>
public sealed record WorkerResponse(
    string Id, string Host, IReadOnlyList<string> Devices, string? TorchSharpVersion, string? LibTorchVersion, int Slots,
    string Status, IReadOnlyList<WorkerJobResponse> CurrentJobs, DateTime StartedAt, DateTime? LastHeartbeat);

/// <summary>
/// The worker registry as a tenant's admin may see it: every live worker of the fleet (<see cref="WorkerRegistry"/>),
/// but job ids only of the caller's own tenant's jobs; another tenant's job shows as a busy slot without an id.
/// The Workers feature service, called by <see cref="WorkersApi"/> and the gRPC <c>training.v1.WorkerService</c>.
/// </summary>
public sealed class WorkerService(JobStorage storage, AppDbContext db)
{
    public const string Busy = "busy";
    public const string Idle = "idle";

    public async Task<List<WorkerResponse>> ListAsync(CancellationToken cancellationToken)
    {
        IReadOnlyList<WorkerSnapshot> workers = WorkerRegistry.Read(storage);
        List<Guid> running = workers.SelectMany(w => w.CurrentJobs).Select(j => j.JobId).OfType<Guid>().Distinct().ToList();
        // The tenant query filter keeps only the caller's jobs.
        HashSet<Guid> own = running.Count == 0 ? [] :
            (await db.Jobs.AsNoTracking().Where(j => running.Contains(j.Id)).Select(j => j.Id).ToListAsync(cancellationToken)).ToHashSet();
        return workers.Select(w => new WorkerResponse(
            w.ServerId,
            w.Description?.Host ?? WorkerRegistry.HostOf(w.ServerId),
            w.Description?.Devices ?? [],
            w.Description?.TorchSharpVersion,
            w.Description?.LibTorchVersion,
            w.Slots,
            w.CurrentJobs.Count > 0 ? Busy : Idle,
            w.CurrentJobs.Select(j => new WorkerJobResponse(j.JobId is Guid id && own.Contains(id) ? id : null, j.StartedAt)).ToList(),
            w.StartedAt,
            w.LastHeartbeat)).ToList();
    }
}

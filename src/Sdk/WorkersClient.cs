namespace TrainingService.Sdk;

/// <summary>
/// Training workers over <c>training.v1.WorkerService</c> (<see cref="TrainingClient.Workers"/>); retried on
/// <see cref="StatusCode.Unavailable"/>.
/// </summary>
public sealed class WorkersClient
{
    private readonly WorkerService.WorkerServiceClient _workers;

    internal WorkersClient(ClientContext context)
    {
        _workers = new WorkerService.WorkerServiceClient(context.Invoker);
    }

    /// <summary>
    /// Lists the live training workers, oldest first: host, devices, torch versions, slots, current jobs and last
    /// heartbeat. Needs a TenantAdmin or ServiceAdmin key (<see cref="StatusCode.PermissionDenied"/> otherwise); a current job's
    /// <see cref="WorkerJob.JobId"/> is set only for the caller's own tenant's jobs.
    /// </summary>
    public async Task<IReadOnlyList<WorkerInfo>> ListAsync(CancellationToken cancellationToken = default) =>
        (await _workers.ListWorkersAsync(new ListWorkersRequest(), cancellationToken: cancellationToken)).Items;
}

using Api.Auth;

namespace Api.Workers;

/// <summary><c>GET /api/v1/workers</c>: the live training workers (tenant-admin and service-admin keys).</summary>
public static class WorkersApi
{
    public static RouteGroupBuilder MapWorkersApi(this RouteGroupBuilder api)
    {
        RouteGroupBuilder group = api.MapGroup("/workers").WithTags("Workers").RequireAuthorization(ApiKeyClaims.TenantAdminPolicy)
            .ProducesProblem(StatusCodes.Status403Forbidden);
        group.MapGet("/", ListAsync).WithName("ListWorkers")
            .WithSummary("List live training workers: host, devices, torch versions, slots, current jobs, last heartbeat (tenant admin or service admin)")
            .WithDescription("Workers are the Hangfire servers on the training queue. A current job shows its `jobId` only when "
                + "it belongs to the caller's tenant; another tenant's job is a busy slot without an id.");
        return group;
    }

    public static async Task<Ok<List<WorkerResponse>>> ListAsync(WorkerService workers, CancellationToken cancellationToken) =>
        TypedResults.Ok(await workers.ListAsync(cancellationToken));
}

using Api.Auth;
using Api.Workers;
using Grpc.Core;
using Microsoft.AspNetCore.Authorization;
using V1 = TrainingService.Sdk.V1;

namespace Api.Grpc;

/// <summary><c>training.v1.WorkerService</c>: the worker registry, for tenant-admin and service-admin keys (members get PERMISSION_DENIED).</summary>
[Authorize(Policy = ApiKeyClaims.TenantAdminPolicy)]
internal sealed class WorkerGrpcService(WorkerService workers) : V1.WorkerService.WorkerServiceBase
{
    public override async Task<V1.ListWorkersResponse> ListWorkers(V1.ListWorkersRequest request, ServerCallContext context)
    {
        var response = new V1.ListWorkersResponse();
        response.Items.AddRange((await workers.ListAsync(context.CancellationToken)).Select(GrpcMapping.ToMessage));
        return response;
    }
}

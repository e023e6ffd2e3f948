using Api.Common;
using Api.Runs;
using Grpc.Core;
using V1 = TrainingService.Sdk.V1;

namespace Api.Grpc;

/// <summary><c>training.v1.RunService</c>: runs and curves through the same <see cref="RunService"/> as REST.</summary>
/// <remarks>SelectVariant and FetchVariant join here with the variants issue (see training.proto).</remarks>
internal sealed class RunGrpcService(RunService runs) : V1.RunService.RunServiceBase
{
    public override async Task<V1.Run> GetRun(V1.GetRunRequest request, ServerCallContext context)
    {
        Guid id = GrpcErrors.ParseId(request.Id, "id");
        return GrpcMapping.ToMessage(await runs.GetAsync(id, context.CancellationToken));
    }

    public override async Task<V1.ListRunsResponse> ListRuns(V1.ListRunsRequest request, ServerCallContext context)
    {
        Guid? jobId = GrpcErrors.ParseOptionalId(request.JobId, "jobId");
        Guid? datasetId = GrpcErrors.ParseOptionalId(request.DatasetId, "datasetId");
        Page<RunResponse> page = await runs.ListAsync(
            jobId, GrpcMapping.FromMessage(request.Status), request.Offset, GrpcMapping.Limit(request.Limit), datasetId,
            GrpcMapping.FromTimestamp(request.StartedAfter, "startedAfter"), GrpcMapping.FromTimestamp(request.StartedBefore, "startedBefore"),
            context.CancellationToken);
        var response = new V1.ListRunsResponse { Total = page.Total, Offset = page.Offset, Limit = page.Limit };
        response.Items.AddRange(page.Items.Select(GrpcMapping.ToMessage));
        return response;
    }

    public override async Task<V1.Curve> GetCurve(V1.GetCurveRequest request, ServerCallContext context)
    {
        Guid id = GrpcErrors.ParseId(request.RunId, "runId");
        return GrpcMapping.ToMessage(await runs.GetCurveAsync(id, context.CancellationToken));
    }
}

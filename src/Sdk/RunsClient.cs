namespace TrainingService.Sdk;

/// <summary>
/// Runs over <c>training.v1.RunService</c> (<see cref="TrainingClient.Runs"/>): a run with its per-epoch metrics, lists
/// and the accuracy-versus-rank curve. Every call is retried on <see cref="StatusCode.Unavailable"/>.
/// </summary>
public sealed class RunsClient
{
    private readonly RunService.RunServiceClient _runs;

    internal RunsClient(ClientContext context)
    {
        _runs = new RunService.RunServiceClient(context.Invoker);
    }

    /// <summary>Gets a run with its per-epoch metrics.</summary>
    public async Task<Run> GetAsync(Guid id, CancellationToken cancellationToken = default) =>
        await _runs.GetRunAsync(new GetRunRequest { Id = id.ToString() }, cancellationToken: cancellationToken);

    /// <summary>
    /// Lists runs, newest first, optionally by job, status, dataset (runs of jobs on <paramref name="datasetId"/>) and
    /// start time (<paramref name="startedAfter"/> inclusive, <paramref name="startedBefore"/> exclusive; a start later
    /// than the end is <see cref="StatusCode.InvalidArgument"/> naming <c>startedBefore</c>).
    /// </summary>
    public async Task<ListRunsResponse> ListAsync(
        Guid? jobId = null, RunStatus status = RunStatus.Unspecified, int offset = 0, int limit = 50, Guid? datasetId = null,
        DateTimeOffset? startedAfter = null, DateTimeOffset? startedBefore = null, CancellationToken cancellationToken = default) =>
        await _runs.ListRunsAsync(new ListRunsRequest
        {
            JobId = jobId?.ToString() ?? "",
            Status = status,
            Offset = offset,
            Limit = limit,
            DatasetId = datasetId?.ToString() ?? "",
            StartedAfter = ClientContext.ToTimestamp(startedAfter),
            StartedBefore = ClientContext.ToTimestamp(startedBefore),
        }, cancellationToken: cancellationToken);

    /// <summary>Gets a run's accuracy-versus-rank curve (empty until the run has finished).</summary>
    public async Task<Curve> GetCurveAsync(Guid runId, CancellationToken cancellationToken = default) =>
        await _runs.GetCurveAsync(new GetCurveRequest { RunId = runId.ToString() }, cancellationToken: cancellationToken);
}

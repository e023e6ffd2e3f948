using System.ComponentModel.DataAnnotations;
using System.ComponentModel;
using Api.Common;
using Api.Jobs;

namespace Api.Runs;

/// <summary>A run with its per-epoch metrics.</summary>
/// <param name="Id">The run's id.</param>
/// <param name="JobId">The job it belongs to.</param>
/// <param name="Index">Its position among the job's runs, from 0.</param>
/// <param name="Status">Running, Succeeded, Failed or Cancelled.</param>
/// <param name="Device">The device it trained on, e.g. <c>cpu</c> or <c>cuda:0</c>.</param>
/// <param name="TestAccuracy">The shipped model's accuracy on the test split; absent until it has finished.</param>
/// <param name="StartedAt">When it started (UTC).</param>
/// <param name="FinishedAt">When it finished (UTC).</param>
/// <param name="Metrics">Every epoch's metrics, in order.</param>
/// <param name="ShippedEpoch">The epoch (1-based, over all stages) whose model the run shipped; null until it has finished.</param>
/// <param name="ModelSelection">
/// Why that epoch: <c>last</c> (the final epoch) or <c>best-validation</c> (the highest accuracy on a validation split of
/// the noisy training labels, never the test labels); null until the run has finished.
/// </param>
/// <param name="ValidationAccuracy">The shipped model's accuracy on that validation split; null without a split.</param>
public sealed record RunResponse(
    Guid Id, Guid JobId, int Index, RunStatus Status, string? Device, double? TestAccuracy,
    DateTime StartedAt, DateTime? FinishedAt, IReadOnlyList<MetricResponse> Metrics,
    int? ShippedEpoch, string? ModelSelection, double? ValidationAccuracy);

/// <summary>The shipped network truncated to one rank fraction and evaluated on the test split.</summary>
/// <param name="RankFraction">The share of every factorised layer's rank kept, in (0, 1].</param>
/// <param name="Ranks">The rank each factorised layer keeps.</param>
/// <param name="Parameters">Parameters of the truncated network.</param>
/// <param name="Flops">Multiply-adds of one forward pass of one sample.</param>
/// <param name="Accuracy">Test accuracy of the truncated network.</param>
/// <param name="SvdAccuracy">With <c>sweep.svdBaseline</c>: test accuracy of the dense baseline truncated by SVD to about the same parameters.</param>
/// <param name="SvdParameters">With <c>sweep.svdBaseline</c>: parameters of that SVD truncation.</param>
public sealed record CurvePointResponse(
    double RankFraction, int[] Ranks, long Parameters, long Flops, double Accuracy, double? SvdAccuracy, long? SvdParameters);

/// <summary>A run's accuracy-versus-rank curve.</summary>
/// <param name="RunId">The run.</param>
/// <param name="Status">The run's status; the curve is empty until it has succeeded.</param>
/// <param name="Points">One point per rank fraction, smallest first.</param>
public sealed record CurveResponse(Guid RunId, RunStatus Status, IReadOnlyList<CurvePointResponse> Points);

public static class RunsApi
{
    public static RouteGroupBuilder MapRunsApi(this RouteGroupBuilder api)
    {
        RouteGroupBuilder group = api.MapGroup("/runs").WithTags("Runs");
        group.MapGet("/{id:guid}", GetAsync).WithName("GetRun").WithSummary("Get a run with its per-epoch metrics")
            .ProducesProblem(StatusCodes.Status404NotFound);
        group.MapGet("/", ListAsync).WithName("ListRuns").WithSummary("List runs, newest first, by job, dataset, status and start time")
            .WithDescription("Every filter is optional. `datasetId`: runs of jobs on that dataset. `startedAfter` <= startedAt < `startedBefore` "
                + "(ISO-8601; without an offset a time is UTC); a start later than the end is a 400 naming `startedBefore`.")
            .ProducesValidationProblem();
        group.MapGet("/{id:guid}/curve", GetCurveAsync).WithName("GetRunCurve")
            .WithSummary("Accuracy versus rank fraction (empty until the run has finished)")
            .ProducesProblem(StatusCodes.Status404NotFound);
        group.MapGet("/{id:guid}/curve.png", (Guid id, RunService runs, CancellationToken ct) => PlotAsync(id, runs, svg: false, ct))
            .WithName("GetRunCurvePng").WithSummary("Plot: accuracy vs latency per device and accuracy vs parameters (PNG)")
            .Produces(StatusCodes.Status200OK, contentType: "image/png").ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
        group.MapGet("/{id:guid}/curve.svg", (Guid id, RunService runs, CancellationToken ct) => PlotAsync(id, runs, svg: true, ct))
            .WithName("GetRunCurveSvg").WithSummary("Plot: accuracy vs latency per device and accuracy vs parameters (SVG)")
            .Produces(StatusCodes.Status200OK, contentType: "image/svg+xml").ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
        return group;
    }

    public static async Task<FileContentHttpResult> PlotAsync(Guid id, RunService runs, bool svg, CancellationToken cancellationToken) =>
        TypedResults.File(await runs.PlotAsync(id, svg, cancellationToken), svg ? "image/svg+xml" : "image/png");

    public static async Task<Ok<RunResponse>> GetAsync(Guid id, RunService runs, CancellationToken cancellationToken) =>
        TypedResults.Ok(await runs.GetAsync(id, cancellationToken));

    public static async Task<Ok<Page<RunResponse>>> ListAsync(
        RunService runs, CancellationToken cancellationToken, Guid? jobId = null, RunStatus? status = null, [Range(0, int.MaxValue)] int offset = 0, [Range(1, Paging.MaxLimit)] int limit = 50,
        [Description("Only runs of jobs on this dataset.")] Guid? datasetId = null,
        [Description(TimeWindow.AfterDescription)] DateTimeOffset? startedAfter = null,
        [Description(TimeWindow.BeforeDescription)] DateTimeOffset? startedBefore = null) =>
        TypedResults.Ok(await runs.ListAsync(jobId, status, offset, limit, datasetId, startedAfter, startedBefore, cancellationToken));

    public static async Task<Ok<CurveResponse>> GetCurveAsync(Guid id, RunService runs, CancellationToken cancellationToken) =>
        TypedResults.Ok(await runs.GetCurveAsync(id, cancellationToken));
}

using System.ComponentModel.DataAnnotations;
using System.ComponentModel;
using Api.Common;
using Api.Jobs;
using Api.Variants;

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
        group.MapGet("/{id:guid}/curve.png", (Guid id, VariantCatalog catalog, CancellationToken ct) => PlotAsync(id, catalog, svg: false, ct))
            .WithName("GetRunCurvePng").WithSummary("Plot: accuracy vs latency per device and accuracy vs parameters (PNG)")
            .Produces(StatusCodes.Status200OK, contentType: "image/png").ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
        group.MapGet("/{id:guid}/curve.svg", (Guid id, VariantCatalog catalog, CancellationToken ct) => PlotAsync(id, catalog, svg: true, ct))
            .WithName("GetRunCurveSvg").WithSummary("Plot: accuracy vs latency per device and accuracy vs parameters (SVG)")
            .Produces(StatusCodes.Status200OK, contentType: "image/svg+xml").ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
        return group;
    }

    public static async Task<FileContentHttpResult> PlotAsync(Guid id, VariantCatalog catalog, bool svg, CancellationToken cancellationToken)
    {
        Run run = await catalog.FinishedRunAsync(id, cancellationToken);
        var latency = new List<PlotSeries>();
        foreach (DeviceProfile device in await catalog.MeasuredDevicesAsync(id, cancellationToken))
        {
            DeviceVariants priced = await catalog.PriceAsync(run, device, 1, cancellationToken);
            latency.Add(new PlotSeries(device.Name, priced.Variants.Select(v => (v.Candidate.LatencyMs, v.Point.Accuracy, !v.Candidate.Measured)).ToList()));
        }
        List<CurvePoint> curve = run.Curve.OrderBy(c => c.RankFraction).ToList();
        var parameters = new List<PlotSeries>
        {
            new("ordered low-rank", curve.Select(c => ((double)c.Parameters, c.Accuracy, false)).ToList()),
        };
        var svd = curve.Where(c => c is { SvdAccuracy: not null, SvdParameters: not null }).ToList();
        if (svd.Count > 0)
        {
            parameters.Add(new PlotSeries("dense + post-hoc SVD", svd.Select(c => ((double)c.SvdParameters!.Value, c.SvdAccuracy!.Value, false)).ToList()));
        }
        byte[] image = CurvePlot.Render($"run {run.Id.ToString()[..8]}", latency, parameters, svg);
        return TypedResults.File(image, svg ? "image/svg+xml" : "image/png");
    }

    public static async Task<Ok<RunResponse>> GetAsync(Guid id, AppDbContext db, CancellationToken cancellationToken)
    {
        Run run = await db.Runs.AsNoTracking().Include(r => r.Metrics).SingleOrDefaultAsync(r => r.Id == id, cancellationToken)
            ?? throw new NotFoundException("Run", id);
        return TypedResults.Ok(ToResponse(run));
    }

    public static async Task<Ok<Page<RunResponse>>> ListAsync(
        AppDbContext db, CancellationToken cancellationToken, Guid? jobId = null, RunStatus? status = null, [Range(0, int.MaxValue)] int offset = 0, [Range(1, Paging.MaxLimit)] int limit = 50,
        [Description("Only runs of jobs on this dataset.")] Guid? datasetId = null,
        [Description(TimeWindow.AfterDescription)] DateTimeOffset? startedAfter = null,
        [Description(TimeWindow.BeforeDescription)] DateTimeOffset? startedBefore = null)
    {
        var rules = new Rules();
        (offset, limit) = Paging.Clamp(rules, offset, limit);
        TimeWindow started = TimeWindow.Check(rules, "startedAfter", startedAfter, "startedBefore", startedBefore);
        rules.ThrowIfInvalid();
        IQueryable<Run> query = started.Apply(db.Runs.AsNoTracking(), r => r.StartedAt);
        if (jobId is not null)
        {
            query = query.Where(r => r.JobId == jobId);
        }
        if (datasetId is not null)
        {
            query = query.Where(r => db.Jobs.Any(j => j.Id == r.JobId && j.DatasetId == datasetId));
        }
        if (status is not null)
        {
            query = query.Where(r => r.Status == status);
        }
        int total = await query.CountAsync(cancellationToken);
        List<Run> runs = await query.Include(r => r.Metrics).OrderByDescending(r => r.StartedAt).ThenBy(r => r.Id)
            .Skip(offset).Take(limit).ToListAsync(cancellationToken);
        return TypedResults.Ok(new Page<RunResponse>(runs.Select(ToResponse).ToList(), total, offset, limit));
    }

    public static async Task<Ok<CurveResponse>> GetCurveAsync(Guid id, AppDbContext db, CancellationToken cancellationToken)
    {
        Run run = await db.Runs.AsNoTracking().Include(r => r.Curve).SingleOrDefaultAsync(r => r.Id == id, cancellationToken)
            ?? throw new NotFoundException("Run", id);
        var points = run.Curve.OrderBy(c => c.RankFraction)
            .Select(c => new CurvePointResponse(c.RankFraction, c.Ranks, c.Parameters, c.Flops, c.Accuracy, c.SvdAccuracy, c.SvdParameters))
            .ToList();
        return TypedResults.Ok(new CurveResponse(run.Id, run.Status, points));
    }

    private static RunResponse ToResponse(Run run) =>
        new(run.Id, run.JobId, run.Index, run.Status, run.Device, run.TestAccuracy, run.StartedAt, run.FinishedAt,
            run.Metrics.OrderBy(m => m.Epoch).Select(MetricResponse.From).ToList(), run.ShippedEpoch, run.ModelSelection, run.ValidationAccuracy);
}

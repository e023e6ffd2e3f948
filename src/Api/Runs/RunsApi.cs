using Api.Datasets;
using Api.Jobs;

namespace Api.Runs;

public sealed record RunResponse(
    Guid Id, Guid JobId, int Index, RunStatus Status, string? Device, double? TestAccuracy,
    DateTime StartedAt, DateTime? FinishedAt, IReadOnlyList<MetricResponse> Metrics);

public sealed record CurvePointResponse(
    double RankFraction, int[] Ranks, long Parameters, long Flops, double Accuracy, double? SvdAccuracy, long? SvdParameters);

public sealed record CurveResponse(Guid RunId, RunStatus Status, IReadOnlyList<CurvePointResponse> Points);

public static class RunsApi
{
    public static RouteGroupBuilder MapRunsApi(this RouteGroupBuilder api)
    {
        RouteGroupBuilder group = api.MapGroup("/runs").WithTags("Runs");
        group.MapGet("/{id:guid}", GetAsync).WithName("GetRun").WithSummary("Get a run with its per-epoch metrics")
            .ProducesProblem(StatusCodes.Status404NotFound);
        group.MapGet("/", ListAsync).WithName("ListRuns").WithSummary("List runs, newest first, by job and status");
        group.MapGet("/{id:guid}/curve", GetCurveAsync).WithName("GetRunCurve")
            .WithSummary("Accuracy versus rank fraction (empty until the run has finished)")
            .ProducesProblem(StatusCodes.Status404NotFound);
        return group;
    }

    public static async Task<Ok<RunResponse>> GetAsync(Guid id, AppDbContext db, CancellationToken cancellationToken)
    {
        Run run = await db.Runs.AsNoTracking().Include(r => r.Metrics).SingleOrDefaultAsync(r => r.Id == id, cancellationToken)
            ?? throw new NotFoundException("Run", id);
        return TypedResults.Ok(ToResponse(run));
    }

    public static async Task<Ok<Page<RunResponse>>> ListAsync(
        AppDbContext db, CancellationToken cancellationToken, Guid? jobId = null, RunStatus? status = null, int offset = 0, int limit = 50)
    {
        (offset, limit) = Paging.Clamp(offset, limit);
        IQueryable<Run> query = db.Runs.AsNoTracking();
        if (jobId is not null)
        {
            query = query.Where(r => r.JobId == jobId);
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
            run.Metrics.OrderBy(m => m.Epoch).Select(MetricResponse.From).ToList());
}

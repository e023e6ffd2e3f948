using Api.Common;
using Api.Jobs;
using Api.Variants;

namespace Api.Runs;

/// <summary>
/// Reads runs, their curves and curve plots for <see cref="RunsApi"/> and the gRPC <c>RunService</c>. Failures are
/// exceptions (<see cref="DomainValidationException"/>, <see cref="NotFoundException"/>, <see cref="ConflictException"/>),
/// which each transport maps to its own status.
/// </summary>
public sealed class RunService(AppDbContext db, VariantCatalog catalog)
{
    public async Task<RunResponse> GetAsync(Guid id, CancellationToken cancellationToken)
    {
        Run run = await db.Runs.AsNoTracking().Include(r => r.Metrics).SingleOrDefaultAsync(r => r.Id == id, cancellationToken)
            ?? throw new NotFoundException("Run", id);
        return ToResponse(run);
    }

    /// <summary>Runs newest first; every filter is optional and every invalid one is reported at once.</summary>
    public async Task<Page<RunResponse>> ListAsync(
        Guid? jobId, RunStatus? status, int offset, int limit, Guid? datasetId, DateTimeOffset? startedAfter, DateTimeOffset? startedBefore,
        CancellationToken cancellationToken)
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
        return new Page<RunResponse>(runs.Select(ToResponse).ToList(), total, offset, limit);
    }

    public async Task<CurveResponse> GetCurveAsync(Guid id, CancellationToken cancellationToken)
    {
        Run run = await db.Runs.AsNoTracking().Include(r => r.Curve).SingleOrDefaultAsync(r => r.Id == id, cancellationToken)
            ?? throw new NotFoundException("Run", id);
        var points = run.Curve.OrderBy(c => c.RankFraction)
            .Select(c => new CurvePointResponse(c.RankFraction, c.Ranks, c.Parameters, c.Flops, c.Accuracy, c.SvdAccuracy, c.SvdParameters))
            .ToList();
        return new CurveResponse(run.Id, run.Status, points);
    }

    /// <summary>A finished run's plot (PNG, or SVG when <paramref name="svg"/>): accuracy vs latency per measured device, and vs parameters.</summary>
    public async Task<byte[]> PlotAsync(Guid id, bool svg, CancellationToken cancellationToken)
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
        return CurvePlot.Render($"run {run.Id.ToString()[..8]}", latency, parameters, svg);
    }

    private static RunResponse ToResponse(Run run) =>
        new(run.Id, run.JobId, run.Index, run.Status, run.Device, run.TestAccuracy, run.StartedAt, run.FinishedAt,
            run.Metrics.OrderBy(m => m.Epoch).Select(MetricResponse.From).ToList(), run.ShippedEpoch, run.ModelSelection, run.ValidationAccuracy);
}

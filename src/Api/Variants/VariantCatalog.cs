using Api.Devices;
using Infrastructure.Artifacts;

namespace Api.Variants;

/// <summary>A run's variants with their latency on one device at one batch size.</summary>
public sealed record DeviceVariants(DeviceProfile Device, int Batch, IReadOnlyList<PricedVariant> Variants, LatencyModel? Calibration);

/// <summary>A curve point with its latency (measured or estimated) on a device.</summary>
public sealed record PricedVariant(CurvePoint Point, VariantCandidate Candidate, VariantLatency? Measurement);

/// <summary>
/// Reads a finished run's variants and prices them on a device: measured latencies where the device has
/// them, otherwise FLOPs × the device's calibration fitted on all of its measurements (any run, any batch).
/// </summary>
/// <remarks>
/// The database context is resolved on first use: a selection answered from <see cref="VariantPriceCache"/> never
/// builds one (that was most of a cached selection's cost). The cache key's tenant comes from the same
/// <see cref="ITenantScope"/> the context would filter by.
/// </remarks>
public sealed class VariantCatalog(IServiceProvider scope, VariantPriceCache cache, ITenantScope? tenantScope = null)
{
    public const int MaxBatch = 4096;

    private AppDbContext? _db;

    private AppDbContext Db => _db ??= scope.GetRequiredService<AppDbContext>();

    /// <summary>The run, which must exist (404) and have succeeded (409), with its curve.</summary>
    public async Task<Run> FinishedRunAsync(Guid runId, CancellationToken cancellationToken)
    {
        Run run = await Db.Runs.AsNoTracking().Include(r => r.Curve).SingleOrDefaultAsync(r => r.Id == runId, cancellationToken)
            ?? throw new NotFoundException("Run", runId);
        if (run.Status != RunStatus.Succeeded)
        {
            throw new ConflictException($"Run {runId} is {run.Status}; its variants exist once it has succeeded.");
        }
        return run;
    }

    public async Task<DeviceProfile> DeviceAsync(string name, CancellationToken cancellationToken) =>
        await Db.DeviceProfiles.AsNoTracking().FindByNameAsync(name, cancellationToken)
        ?? throw new NotFoundException("Device", name);

    /// <summary>A finished run's variants priced on a device, from <see cref="VariantPriceCache"/> when it has them.</summary>
    public Task<DeviceVariants> PriceFinishedAsync(Guid runId, string device, int batch, CancellationToken cancellationToken) =>
        cache.GetOrLoadAsync(tenantScope?.TenantId, runId, device, batch, async () =>
        {
            Run run = await FinishedRunAsync(runId, cancellationToken);
            DeviceProfile profile = await DeviceAsync(device, cancellationToken);
            return await PriceAsync(run, profile, batch, cancellationToken);
        });

    /// <summary>Call after a device's latencies changed: its cached prices are dropped.</summary>
    public void ForgetPrices(string device) => cache.Invalidate(device);

    public async Task<DeviceVariants> PriceAsync(Run run, DeviceProfile device, int batch, CancellationToken cancellationToken)
    {
        List<VariantLatency> measured = await Db.VariantLatencies.AsNoTracking()
            .Where(l => l.RunId == run.Id && l.DeviceProfileId == device.Id && l.Batch == batch)
            .ToListAsync(cancellationToken);
        LatencyModel? calibration = null;
        if (measured.Count < run.Curve.Count)
        {
            calibration = await CalibrationAsync(device.Id, cancellationToken);
            if (calibration is null && measured.Count == 0)
            {
                throw new DomainValidationException("device",
                    $"'{device.Name}' has no latency measurements yet: POST /api/v1/devices/{device.Name}/latencies (the SDK's profile operation does it).");
            }
        }
        var variants = new List<PricedVariant>();
        foreach (CurvePoint point in run.Curve.OrderBy(c => c.RankFraction))
        {
            VariantLatency? m = measured.FirstOrDefault(l => SameFraction(l.RankFraction, point.RankFraction));
            double? latency = m?.MedianMs ?? calibration?.EstimateMs(point.Flops * (long)batch);
            if (latency is null)
            {
                continue;
            }
            variants.Add(new PricedVariant(point,
                new VariantCandidate(point.RankFraction, point.Accuracy, point.Parameters, point.Flops, latency.Value, m is not null), m));
        }
        return new DeviceVariants(device, batch, variants, calibration);
    }

    /// <summary>Devices with at least one measurement of this run, for listing frontiers.</summary>
    public async Task<List<DeviceProfile>> MeasuredDevicesAsync(Guid runId, CancellationToken cancellationToken)
    {
        List<Guid> ids = await Db.VariantLatencies.AsNoTracking().Where(l => l.RunId == runId)
            .Select(l => l.DeviceProfileId).Distinct().ToListAsync(cancellationToken);
        return await Db.DeviceProfiles.AsNoTracking().Where(d => ids.Contains(d.Id)).OrderBy(d => d.Name).ToListAsync(cancellationToken);
    }

    public async Task<Artifact> VariantFileAsync(Run run, double fraction, string format, CancellationToken cancellationToken)
    {
        CurvePoint point = run.Curve.FirstOrDefault(c => SameFraction(c.RankFraction, fraction))
            ?? throw new NotFoundException("Variant", $"{run.Id} at rank fraction {fraction}");
        string kind = ArtifactKinds.ForVariantFormat(format);
        List<Artifact> files = await Db.Artifacts.AsNoTracking()
            .Where(a => a.RunId == run.Id && a.Kind == kind).ToListAsync(cancellationToken);
        return files.FirstOrDefault(a => a.RankFraction is double f && SameFraction(f, point.RankFraction))
            ?? throw new NotFoundException("Variant file", $"{format} of run {run.Id} at rank fraction {fraction}");
    }

    public static bool SameFraction(double a, double b) => Math.Abs(a - b) < 1e-9;

    /// <summary>latency ≈ fixed + perFlop·(FLOPs per sample × batch), fitted on every measurement of the device.</summary>
    private async Task<LatencyModel?> CalibrationAsync(Guid deviceId, CancellationToken cancellationToken)
    {
        var points = await (from l in Db.VariantLatencies.AsNoTracking()
                            join c in Db.CurvePoints.AsNoTracking() on l.RunId equals c.RunId
                            where l.DeviceProfileId == deviceId
                            select new { LatencyFraction = l.RankFraction, CurveFraction = c.RankFraction, c.Flops, l.Batch, l.MedianMs })
            .ToListAsync(cancellationToken);
        return LatencyModel.Fit(points.Where(p => SameFraction(p.LatencyFraction, p.CurveFraction))
            .Select(p => (p.Flops * (long)p.Batch, p.MedianMs)).ToList());
    }
}

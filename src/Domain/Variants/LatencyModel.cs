namespace Domain.Variants;

/// <summary>
/// Latency estimated from FLOPs, latency ≈ fixed + perFlop·flops, fitted by least squares on a device's
/// measured variants (a per-profile calibration, like Once-for-All's latency lookup tables but interpolated).
/// </summary>
public sealed record LatencyModel(double FixedMs, double MsPerFlop, int Measurements)
{
    /// <summary>
    /// Fits the model to (flops, milliseconds) measurements. One distinct FLOP count gives a line through the
    /// origin; none gives null. Coefficients are kept non-negative so more work never predicts less time.
    /// </summary>
    public static LatencyModel? Fit(IReadOnlyCollection<(long Flops, double Ms)> measurements)
    {
        ArgumentNullException.ThrowIfNull(measurements);
        var points = measurements.Where(m => m.Flops > 0 && double.IsFinite(m.Ms) && m.Ms >= 0).ToList();
        if (points.Count == 0)
        {
            return null;
        }
        double meanX = points.Average(p => (double)p.Flops);
        double meanY = points.Average(p => p.Ms);
        double sxx = points.Sum(p => (p.Flops - meanX) * (p.Flops - meanX));
        if (sxx <= 0)
        {
            return new LatencyModel(0, meanY / meanX, points.Count);
        }
        double slope = points.Sum(p => (p.Flops - meanX) * (p.Ms - meanY)) / sxx;
        double intercept = meanY - slope * meanX;
        if (slope < 0)
        {
            return new LatencyModel(meanY, 0, points.Count);
        }
        if (intercept < 0)
        {
            // Refit through the origin.
            return new LatencyModel(0, points.Sum(p => p.Flops * p.Ms) / points.Sum(p => (double)p.Flops * p.Flops), points.Count);
        }
        return new LatencyModel(intercept, slope, points.Count);
    }

    public double EstimateMs(long flops) => FixedMs + MsPerFlop * flops;
}

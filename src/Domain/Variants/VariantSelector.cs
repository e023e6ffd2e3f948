namespace Domain.Variants;

/// <summary>One cut of a trained run at a rank fraction, with its latency on one device.</summary>
/// <param name="Measured">True when <paramref name="LatencyMs"/> was timed on the device; false when estimated from FLOPs.</param>
public sealed record VariantCandidate(
    double RankFraction, double Accuracy, long Parameters, long Flops, double LatencyMs, bool Measured);

/// <summary>
/// Picks the variant a device should run: pure functions over candidates, shared by REST and gRPC.
/// </summary>
public static class VariantSelector
{
    /// <summary>
    /// The most accurate candidate whose latency fits <paramref name="budgetMs"/>; ties go to fewer parameters,
    /// then to lower latency. Null when nothing fits.
    /// </summary>
    public static VariantCandidate? Select(IEnumerable<VariantCandidate> candidates, double budgetMs)
    {
        ArgumentNullException.ThrowIfNull(candidates);
        VariantCandidate? best = null;
        foreach (VariantCandidate c in candidates)
        {
            if (!(c.LatencyMs <= budgetMs))
            {
                continue;
            }
            if (best is null || Better(c, best))
            {
                best = c;
            }
        }
        return best;
    }

    /// <summary>
    /// The accuracy–latency Pareto frontier, fastest first: exactly the candidates that <see cref="Select"/> returns
    /// for some budget (each is the choice at its own latency). Along it accuracy never falls; where it stays equal,
    /// the slower entry is smaller, because <see cref="Select"/> breaks accuracy ties by size.
    /// </summary>
    public static IReadOnlyList<VariantCandidate> Frontier(IEnumerable<VariantCandidate> candidates)
    {
        ArgumentNullException.ThrowIfNull(candidates);
        List<VariantCandidate> all = candidates.Distinct().ToList();
        return all.Where(c => Select(all, c.LatencyMs) == c)
            .OrderBy(c => c.LatencyMs)
            .ToList();
    }

    /// <summary>The fastest candidate (for the error a too-tight budget gets).</summary>
    public static VariantCandidate? Fastest(IEnumerable<VariantCandidate> candidates) =>
        candidates.OrderBy(c => c.LatencyMs).ThenByDescending(c => c.Accuracy).FirstOrDefault();

    private static bool Better(VariantCandidate a, VariantCandidate b) =>
        a.Accuracy != b.Accuracy ? a.Accuracy > b.Accuracy
        : a.Parameters != b.Parameters ? a.Parameters < b.Parameters
        : a.LatencyMs < b.LatencyMs;
}

using Domain.Jobs;

namespace Training.Methods;

/// <summary>
/// Ordered dropout's choice of truncation for one sampled pass (Maestro, Horváth et al. 2024, arXiv 2308.14929).
/// <see cref="MaestroSampling.LayerRank"/>: one (layer, b) pair drawn uniformly over all pairs with b ≤ the layer's
/// active rank, so layers with more ranks are drawn more often; the other layers stay at their active rank.
/// <see cref="MaestroSampling.UniformFraction"/>: one fraction f ~ U(0, 1] and every layer keeps ⌈f·active⌉ ranks.
/// </summary>
public static class OrderedDropoutSampler
{
    /// <summary>Ranks per layer for one sampled pass, drawn with <paramref name="random"/>.</summary>
    public static int[] Sample(IReadOnlyList<int> activeRanks, string sampling, Random random)
    {
        int[] ranks = activeRanks.ToArray();
        if (ranks.Length == 0)
        {
            return ranks;
        }
        if (sampling == MaestroSampling.UniformFraction)
        {
            double fraction = 1.0 - random.NextDouble(); // (0, 1]
            for (int i = 0; i < ranks.Length; i++)
            {
                ranks[i] = Math.Clamp((int)Math.Ceiling(fraction * activeRanks[i]), 1, activeRanks[i]);
            }
            return ranks;
        }
        int total = activeRanks.Sum();
        int pick = random.Next(total);
        for (int layer = 0; layer < ranks.Length; layer++)
        {
            if (pick < activeRanks[layer])
            {
                ranks[layer] = pick + 1;
                return ranks;
            }
            pick -= activeRanks[layer];
        }
        throw new InvalidOperationException("unreachable");
    }
}

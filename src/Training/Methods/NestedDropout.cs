namespace Training.Methods;

/// <summary>
/// Nested dropout (Rippel, Gelbart and Adams 2014, "Learning Ordered Representations with Nested Dropout"),
/// as used on the penultimate features against noisy labels by Chen et al. 2021 ("Boosting Co-teaching with
/// Compression Regularization for Label Noise"): each mini-batch keeps features 1..k with
/// P(k) ∝ exp(−(k/σ)²), k ∈ 1..D.
/// </summary>
public sealed class NestedDropout
{
    private readonly double[] _cumulative;

    public NestedDropout(int features, double sigma)
    {
        Probabilities = ProbabilitiesFor(features, sigma);
        _cumulative = new double[features];
        double sum = 0;
        for (int i = 0; i < features; i++)
        {
            sum += Probabilities[i];
            _cumulative[i] = sum;
        }
        _cumulative[^1] = 1;
    }

    /// <summary>P(k) for k = 1..D at index k − 1.</summary>
    public IReadOnlyList<double> Probabilities { get; }

    public static double[] ProbabilitiesFor(int features, double sigma)
    {
        var weights = new double[features];
        for (int k = 1; k <= features; k++)
        {
            weights[k - 1] = Math.Exp(-Math.Pow(k / sigma, 2));
        }
        double total = weights.Sum();
        if (total <= 0 || double.IsNaN(total))
        {
            // σ so small that every weight underflows: all mass on k = 1, the formula's limit.
            weights = new double[features];
            weights[0] = 1;
            return weights;
        }
        return weights.Select(w => w / total).ToArray();
    }

    /// <summary>Draws a truncation index k in 1..D.</summary>
    public int Sample(Random random)
    {
        double u = random.NextDouble();
        int index = Array.BinarySearch(_cumulative, u);
        index = index < 0 ? ~index : index;
        return Math.Min(index, _cumulative.Length - 1) + 1;
    }

    /// <summary>The best truncation: highest score, ties to the smaller K. <paramref name="scores"/>[K − 1] scores K.</summary>
    public static int BestK(IReadOnlyList<double> scores)
    {
        int best = 0;
        for (int i = 1; i < scores.Count; i++)
        {
            if (scores[i] > scores[best])
            {
                best = i;
            }
        }
        return best + 1;
    }
}

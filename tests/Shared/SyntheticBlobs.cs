using Training.Engine;

namespace TestSupport;

/// <summary>Synthetic data shared by the test projects (linked into each, not a project of its own).</summary>
internal static class SyntheticBlobs
{
    /// <summary>
    /// Gaussian blobs: class c has a random centre in [0.2, 0.8]^d and samples spread by <paramref name="spread"/>,
    /// clipped to [0, 1]. Separable when the spread is small against the distance between centres.
    /// </summary>
    public static (LabeledData Train, LabeledData Test) Make(int train, int test, int dims, int classes, double spread, int seed)
    {
        var random = new Random(seed);
        var centres = new double[classes, dims];
        for (int c = 0; c < classes; c++)
        {
            for (int d = 0; d < dims; d++)
            {
                centres[c, d] = 0.2 + 0.6 * random.NextDouble();
            }
        }
        LabeledData Sample(int n)
        {
            var features = new float[n * dims];
            var labels = new int[n];
            for (int i = 0; i < n; i++)
            {
                int c = random.Next(classes);
                labels[i] = c;
                for (int d = 0; d < dims; d++)
                {
                    double g = Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
                    features[i * dims + d] = (float)Math.Clamp(centres[c, d] + spread * g, 0, 1);
                }
            }
            return new LabeledData(features, labels, [dims], classes);
        }
        return (Sample(train), Sample(test));
    }
}

using Domain.Jobs;

namespace Training.Methods;

/// <summary>
/// Seeded synthetic label noise for benchmarking, as in Han et al. 2018's setup: <c>symmetric</c> flips a label with
/// probability ε to one of the other C − 1 classes uniformly; <c>pair</c> flips class i to (i + 1) mod C with probability ε.
/// </summary>
public static class LabelNoise
{
    public static int[] Apply(IReadOnlyList<int> labels, int classes, NoiseSpec noise, int seed)
    {
        var random = new Random(noise.Seed ?? seed);
        var noisy = new int[labels.Count];
        for (int i = 0; i < labels.Count; i++)
        {
            int label = labels[i];
            bool flip = random.NextDouble() < noise.Rate;
            if (!flip || classes < 2)
            {
                noisy[i] = label;
            }
            else if (noise.Kind == NoiseKinds.Pair)
            {
                noisy[i] = (label + 1) % classes;
            }
            else
            {
                int other = random.Next(classes - 1);
                noisy[i] = other >= label ? other + 1 : other;
            }
        }
        return noisy;
    }
}

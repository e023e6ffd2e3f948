using Domain.Common;

namespace Domain.Jobs;

/// <summary>Seeded synthetic label noise: <c>symmetric</c> (to any other class uniformly) or <c>pair</c> (class i → i+1 mod C).</summary>
public sealed record NoiseSpec
{
    public string Kind { get; init; } = NoiseKinds.Symmetric;

    public double Rate { get; init; }

    /// <summary>Seed of the corruption; null uses the training seed.</summary>
    public int? Seed { get; init; }

    internal void Validate(Rules rules, string path, int? classes)
    {
        rules.OneOf($"{path}.kind", Kind, NoiseKinds.All);
        rules.Range($"{path}.rate", Rate, 0, 0.95);
        if (classes is < 2)
        {
            rules.Add($"{path}", "needs a dataset with at least two classes.");
        }
    }
}

public static class NoiseKinds
{
    public const string Symmetric = "symmetric";
    public const string Pair = "pair";
    public static readonly string[] All = [Symmetric, Pair];
}

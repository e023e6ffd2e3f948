using System.ComponentModel.DataAnnotations;
using Domain.Common;

namespace Domain.Jobs;

/// <summary>Seeded synthetic label noise: <c>symmetric</c> (to any other class uniformly) or <c>pair</c> (class i → i+1 mod C).</summary>
public sealed record NoiseSpec
{
    /// <summary><c>symmetric</c> or <c>pair</c>.</summary>
    public string Kind { get; init; } = NoiseKinds.Symmetric;

    /// <summary>Share of training labels corrupted, [0, 0.95].</summary>
    [Range(0, 0.95)]
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

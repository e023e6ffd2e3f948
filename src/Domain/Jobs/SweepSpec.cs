using System.ComponentModel.DataAnnotations;
using Domain.Common;

namespace Domain.Jobs;

/// <summary>Rank fractions at which the trained network is truncated (every layer at the same fraction) and evaluated.</summary>
public sealed record SweepSpec
{
    public static readonly IReadOnlyList<double> DefaultFractions = [1.0 / 16, 1.0 / 8, 1.0 / 4, 3.0 / 8, 1.0 / 2, 3.0 / 4, 1.0];

    /// <summary>Most fractions a sweep may list.</summary>
    public const int MaxFractions = 64;

    /// <summary>Distinct fractions in (0, 1]; the default is 1/16, 1/8, 1/4, 3/8, 1/2, 3/4 and 1.</summary>
    [Length(1, MaxFractions)]
    public IReadOnlyList<double> RankFractions { get; init; } = DefaultFractions;

    /// <summary>Also train the dense baseline and truncate it by post-hoc SVD at the same parameter counts.</summary>
    public bool SvdBaseline { get; init; }

    internal void Validate(Rules rules, string path)
    {
        if (RankFractions is null || RankFractions.Count == 0)
        {
            rules.Add($"{path}.rankFractions", "must list at least one fraction.");
            return;
        }
        if (RankFractions.Count > MaxFractions)
        {
            rules.Add($"{path}.rankFractions", $"may list at most {MaxFractions} fractions (had {RankFractions.Count}).");
        }
        for (int i = 0; i < RankFractions.Count; i++)
        {
            rules.Range($"{path}.rankFractions[{i}]", RankFractions[i], 0, 1, minExclusive: true);
        }
        if (RankFractions.Distinct().Count() != RankFractions.Count)
        {
            rules.Add($"{path}.rankFractions", "must not repeat a fraction.");
        }
    }
}

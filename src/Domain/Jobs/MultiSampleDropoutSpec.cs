using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using Domain.Common;

namespace Domain.Jobs;

/// <summary>
/// Multi-sample dropout (Inoue 2019, "Multi-Sample Dropout for Accelerated Training and Better Generalization",
/// arXiv 1905.09788): during training, <see cref="Samples"/> dropout masks of rate <see cref="Rate"/> are applied to
/// the penultimate features and each masked copy goes through the same classifier; the loss is the mean of the K
/// cross-entropies. Inference uses no dropout. With co-teaching, the small-loss ranking uses the K-mean loss.
/// </summary>
[Description("Multi-sample dropout (Inoue 2019, arXiv 1905.09788): K dropout masks on the penultimate features feed the same classifier; "
    + "the loss is the mean of the K cross-entropies (co-teaching ranks samples by it). Inference uses no dropout.")]
public sealed record MultiSampleDropoutSpec
{
    public const int DefaultSamples = 8;
    public const int MaxSamples = 64;
    public const double DefaultRate = 0.5;
    public const double MaxRate = 0.95;

    /// <summary>K, the dropout masks per step (1..64; the paper's default 8).</summary>
    [Description("K, the dropout masks per training step; 1..64.")]
    [DefaultValue(DefaultSamples)]
    [Range(1, MaxSamples)]
    public int Samples { get; init; } = DefaultSamples;

    /// <summary>p, the probability of dropping a feature in each mask, in [0, 0.95) (the paper's 0.5); 0 is plain cross-entropy.</summary>
    [Description("p, the probability that a mask drops a feature; [0, 0.95). 0 reduces to plain cross-entropy.")]
    [DefaultValue(DefaultRate)]
    [Range(0, MaxRate, MaximumIsExclusive = true)]
    public double Rate { get; init; } = DefaultRate;

    internal void Validate(Rules rules, string path)
    {
        rules.Range($"{path}.samples", Samples, 1, MaxSamples);
        rules.Range($"{path}.rate", Rate, 0, MaxRate, maxExclusive: true);
    }
}

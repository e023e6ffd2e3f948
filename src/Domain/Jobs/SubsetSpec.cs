using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using Domain.Common;

namespace Domain.Jobs;

/// <summary>
/// Informative-subset selection (INGENIOUS: Renduchintala et al. 2023, "INGENIOUS: Using Informative Data Subsets for
/// Efficient Pre-Training of Language Models"; code Efficient-AI/ingenious, MIT licence): after
/// <see cref="WarmStartEpochs"/> epochs on all data, each epoch trains on a <see cref="Fraction"/> of the training split
/// chosen by maximising facility location, F(S) = Σ_i max_{j∈S} sim(i, j), over the current model's penultimate
/// features (cosine similarity shifted to (1 + cos)/2), with lazy greedy. The split is cut into
/// <see cref="Partitions"/> random parts, each with a budget proportional to its size and, within a part, to each
/// class's size, so similarities are only ever held for one class of one part. The subset is chosen again every
/// <see cref="ReselectEvery"/> epochs. <see cref="Mode"/> <c>random</c> draws a uniformly random subset of the same size
/// at the same epochs instead (the baseline).
/// </summary>
[Description("Informative-subset selection (INGENIOUS, Renduchintala et al. 2023): after warmStartEpochs on all data, train on a fraction of the training split "
    + "chosen by facility-location maximisation (lazy greedy) over the model's penultimate features (similarity (1 + cosine)/2), per random partition and class; "
    + "re-selected every reselectEvery epochs. Mode 'random' draws a random subset of the same size instead (baseline). "
    + "Partitions are raised where needed so that no partition exceeds 4096 samples (a 64 MiB similarity matrix).")]
public sealed record SubsetSpec
{
    public const double DefaultFraction = 0.3;
    public const int DefaultPartitions = 8;
    public const int MaxPartitions = 4096;
    public const int DefaultReselectEvery = 5;
    public const int MaxEpochs = 1000;
    public const int DefaultWarmStartEpochs = 1;

    /// <summary>
    /// The most samples a partition may hold: a class of a partition is at most this large, so its similarity matrix
    /// is at most 4096² float32 = 64 MiB. Where the training split divided by <see cref="Partitions"/> would exceed it,
    /// training uses ⌈N / 4096⌉ partitions instead (<see cref="EffectivePartitions"/>).
    /// </summary>
    public const int MaxPartitionSamples = 4096;

    /// <summary>Share of the training split trained on per epoch after the warm start, in (0, 1].</summary>
    [Description("Share of the training split trained on after the warm start; (0, 1].")]
    [DefaultValue(DefaultFraction)]
    [Range(0, 1, MinimumIsExclusive = true)]
    public double Fraction { get; init; } = DefaultFraction;

    /// <summary>Random partitions the selection runs in (1..4096); raised to ⌈N / 4096⌉ for large splits.</summary>
    [Description("Random partitions the selection runs in, each with a budget proportional to its size; 1..4096. "
        + "Raised to ceil(N / 4096) where a partition would exceed 4096 samples.")]
    [DefaultValue(DefaultPartitions)]
    [Range(1, MaxPartitions)]
    public int Partitions { get; init; } = DefaultPartitions;

    /// <summary>Epochs between selections (1..1000).</summary>
    [Description("Epochs between selections from the current model's features; 1..1000.")]
    [DefaultValue(DefaultReselectEvery)]
    [Range(1, MaxEpochs)]
    public int ReselectEvery { get; init; } = DefaultReselectEvery;

    /// <summary>Epochs on all data before the first selection (0..1000, less than training.epochs).</summary>
    [Description("Epochs on all data before the first selection; 0..1000 and less than training.epochs.")]
    [DefaultValue(DefaultWarmStartEpochs)]
    [Range(0, MaxEpochs)]
    public int WarmStartEpochs { get; init; } = DefaultWarmStartEpochs;

    /// <summary><see cref="SubsetModes"/>: <c>informative</c> (facility location) or <c>random</c> (the baseline).</summary>
    [Description("informative (facility location over features) or random (a uniformly random subset of the same size, the baseline).")]
    [DefaultValue(SubsetModes.Informative)]
    [AllowedValues(SubsetModes.Informative, SubsetModes.Random)]
    public string Mode { get; init; } = SubsetModes.Informative;

    /// <summary>The partitions used for a training split of <paramref name="samples"/>: at least ⌈samples / <see cref="MaxPartitionSamples"/>⌉.</summary>
    public int EffectivePartitions(long samples) =>
        (int)Math.Max(Partitions, (samples + MaxPartitionSamples - 1) / MaxPartitionSamples);

    /// <summary>The subset's size for a training split of <paramref name="samples"/>: round(fraction·N), at least 1.</summary>
    public int Budget(long samples) => (int)Math.Clamp(Math.Round(Fraction * samples, MidpointRounding.AwayFromZero), 1, Math.Max(samples, 1));

    internal void Validate(Rules rules, string path, int? epochs)
    {
        rules.Range($"{path}.fraction", Fraction, 0, 1, minExclusive: true);
        rules.Range($"{path}.partitions", Partitions, 1, MaxPartitions);
        rules.Range($"{path}.reselectEvery", ReselectEvery, 1, MaxEpochs);
        rules.Range($"{path}.warmStartEpochs", WarmStartEpochs, 0, MaxEpochs);
        rules.OneOf($"{path}.mode", Mode, SubsetModes.All);
        if (epochs is int total && WarmStartEpochs >= total && WarmStartEpochs <= MaxEpochs)
        {
            rules.Add($"{path}.warmStartEpochs", $"must be less than training.epochs ({total}): no epoch would train on the subset (was {WarmStartEpochs}).");
        }
    }
}

/// <summary>How <see cref="SubsetSpec"/> chooses its samples.</summary>
public static class SubsetModes
{
    public const string Informative = "informative";
    public const string Random = "random";
    public static readonly string[] All = [Informative, Random];
}

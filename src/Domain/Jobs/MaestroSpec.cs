using System.ComponentModel.DataAnnotations;
using Domain.Common;

namespace Domain.Jobs;

/// <summary>
/// Maestro (Horváth et al., 2024, "Maestro: Uncovering Low-Rank Structures via Trainable Decomposition"):
/// ordered dropout over the rank of every factorised layer, self-distillation, hierarchical group lasso
/// and progressive rank shrinking.
/// </summary>
public sealed record MaestroSpec
{
    /// <summary>Upper bound of <see cref="DenseWarmupEpochs"/> (one less than the most epochs a job may train).</summary>
    public const int MaxDenseWarmupEpochs = 999;

    /// <summary>Train a sampled truncated pass each step so every rank prefix is a working model.</summary>
    public bool OrderedDropout { get; init; } = true;

    /// <summary>
    /// <c>uniform-fraction</c> (default): draw one fraction and truncate every layer to it, which is the joint truncation
    /// the rank sweep and the variants use; <c>layer-rank</c>: draw a (layer, b) pair uniformly over all pairs and
    /// truncate that layer only (the paper's sampler). See docs/BENCHMARKS.md for the comparison.
    /// </summary>
    public string Sampling { get; init; } = MaestroSampling.UniformFraction;

    /// <summary>Also train the full pass and distil its (detached) softmax into the sampled pass; false uses hard labels only.</summary>
    public bool SelfDistillation { get; init; } = true;

    /// <summary>Weight λ of the hierarchical group lasso (authors' default 5e-3; 1e-6 in their LeNet script).</summary>
    [Range(0, 1)]
    public double GroupLasso { get; init; }

    /// <summary>Drop ranks whose importance in_k·out_k falls below <see cref="ShrinkThreshold"/> after each epoch.</summary>
    public bool Shrink { get; init; } = true;

    /// <summary>Importance below which <see cref="Shrink"/> drops a rank, [0, 1].</summary>
    [Range(0, 1)]
    public double ShrinkThreshold { get; init; } = 1e-5;

    /// <summary>
    /// Epochs of dense training at the start of the run; the SVD of the dense layers then initialises the factors
    /// and ordered-dropout training continues for the remaining epochs of <see cref="TrainingSpec.Epochs"/>, so the
    /// ordered model starts from post-hoc SVD's curve. Applies only to low-rank models with ordered dropout and
    /// without co-teaching or nested dropout (<see cref="JobSpec.DenseWarmupApplies"/>).
    /// Null uses <see cref="DefaultDenseWarmupEpochs"/>; the value in effect is <see cref="JobSpec.EffectiveDenseWarmupEpochs"/>.
    /// </summary>
    [Range(0, MaxDenseWarmupEpochs)]
    public int? DenseWarmupEpochs { get; init; }

    /// <summary>
    /// The dense warm-up of a Maestro run of <paramref name="epochs"/> epochs when <see cref="DenseWarmupEpochs"/> is
    /// not given; always in [0, epochs). The one place the default lives: a quarter of the epochs, which in
    /// docs/BENCHMARKS.md puts the ordered curve at or above post-hoc SVD of a dense model trained for all the epochs
    /// (20 and 50 epochs), for runs of at least <see cref="MinEpochsForDefaultWarmup"/> epochs. Shorter runs start
    /// factorised: with a handful of steps the warm-up has not learnt enough to be worth its SVD, and the fresh
    /// optimiser after the hand-off then has too few epochs to recover (seen on 180-sample datasets at lr 0.01).
    /// </summary>
    public static int DefaultDenseWarmupEpochs(int epochs) => epochs >= MinEpochsForDefaultWarmup ? epochs / 4 : 0;

    /// <summary>Runs shorter than this get no dense warm-up by default (<see cref="DefaultDenseWarmupEpochs"/>).</summary>
    public const int MinEpochsForDefaultWarmup = 10;

    internal void Validate(Rules rules, string path)
    {
        rules.OneOf($"{path}.sampling", Sampling, MaestroSampling.All);
        rules.Range($"{path}.groupLasso", GroupLasso, 0, 1);
        rules.Range($"{path}.shrinkThreshold", ShrinkThreshold, 0, 1);
        if (DenseWarmupEpochs is int warmup)
        {
            // Less than training.epochs and where it applies: JobSpec's cross-section rules.
            rules.Range($"{path}.denseWarmupEpochs", warmup, 0, MaxDenseWarmupEpochs);
        }
        if (!OrderedDropout && !SelfDistillation)
        {
            rules.Add($"{path}.selfDistillation", "cannot be false when orderedDropout is false: nothing would be trained.");
        }
    }
}

public static class MaestroSampling
{
    public const string LayerRank = "layer-rank";
    public const string UniformFraction = "uniform-fraction";
    public static readonly string[] All = [LayerRank, UniformFraction];
}

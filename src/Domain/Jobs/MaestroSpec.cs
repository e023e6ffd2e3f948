using Domain.Common;

namespace Domain.Jobs;

/// <summary>
/// Maestro (Horváth et al., 2024, "Maestro: Uncovering Low-Rank Structures via Trainable Decomposition"):
/// ordered dropout over the rank of every factorised layer, self-distillation, hierarchical group lasso
/// and progressive rank shrinking.
/// </summary>
public sealed record MaestroSpec
{
    /// <summary>Train a sampled truncated pass each step so every rank prefix is a working model.</summary>
    public bool OrderedDropout { get; init; } = true;

    /// <summary>
    /// <c>layer-rank</c>: draw a (layer, b) pair uniformly over all pairs and truncate that layer only (the paper's sampler);
    /// <c>uniform-fraction</c>: draw one fraction and truncate every layer to it.
    /// </summary>
    public string Sampling { get; init; } = MaestroSampling.LayerRank;

    /// <summary>Also train the full pass and distil its (detached) softmax into the sampled pass; false uses hard labels only.</summary>
    public bool SelfDistillation { get; init; } = true;

    /// <summary>Weight λ of the hierarchical group lasso (authors' default 5e-3; 1e-6 in their LeNet script).</summary>
    public double GroupLasso { get; init; }

    /// <summary>Drop ranks whose importance in_k·out_k falls below <see cref="ShrinkThreshold"/> after each epoch.</summary>
    public bool Shrink { get; init; } = true;

    public double ShrinkThreshold { get; init; } = 1e-5;

    internal void Validate(Rules rules, string path)
    {
        rules.OneOf($"{path}.sampling", Sampling, MaestroSampling.All);
        rules.Range($"{path}.groupLasso", GroupLasso, 0, 1);
        rules.Range($"{path}.shrinkThreshold", ShrinkThreshold, 0, 1);
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

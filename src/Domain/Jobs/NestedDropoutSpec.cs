using System.ComponentModel.DataAnnotations;
using Domain.Common;

namespace Domain.Jobs;

/// <summary>
/// Nested dropout on the penultimate features (Rippel et al., 2014; applied to noisy labels by
/// Chen et al., 2021, "Boosting Co-teaching with Compression Regularization"): each mini-batch keeps the
/// first k features with P(k) ∝ exp(−(k/σ)²).
/// </summary>
public sealed record NestedDropoutSpec
{
    /// <summary>σ of P(k) ∝ exp(−(k/σ)²), the scale of the kept feature count k; in (0, 1e6].</summary>
    [Range(0, 1e6, MinimumIsExclusive = true)]
    public double Sigma { get; init; } = 10;

    /// <summary>
    /// Length of the nested-dropout stage when <see cref="JobSpec.CoTeaching"/> is also set (the paper's recipe:
    /// stage 1 nested dropout, stage 2 co-teaching fine-tune with the best K for <see cref="TrainingSpec.Epochs"/>).
    /// Null uses <see cref="TrainingSpec.Epochs"/>.
    /// </summary>
    [Range(1, 1000)]
    public int? StageEpochs { get; init; }

    /// <summary>Share of the training set held out to choose the best truncation K, in (0, 0.5].</summary>
    [Range(0, 0.5, MinimumIsExclusive = true)]
    public double ValidationFraction { get; init; } = 0.1;

    internal void Validate(Rules rules, string path, int? epochs)
    {
        rules.Range($"{path}.sigma", Sigma, 0, 1e6, minExclusive: true);
        rules.Range($"{path}.validationFraction", ValidationFraction, 0, 0.5, minExclusive: true);
        if (StageEpochs is int stage)
        {
            rules.Range($"{path}.stageEpochs", stage, 1, 1000);
        }
    }
}

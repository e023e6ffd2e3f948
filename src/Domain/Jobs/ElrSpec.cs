using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using Domain.Common;

namespace Domain.Jobs;

/// <summary>
/// Early-learning regularisation (Liu et al. 2020, "Early-Learning Regularization Prevents Memorization of Noisy
/// Labels", NeurIPS; official code shengliu66/ELR): every training example keeps a running target
/// t ← β·t + (1 − β)·p̂ of the network's detached, clamped and renormalised softmax p̂, and the loss adds
/// λ·mean(log(1 − ⟨t, p⟩)), which keeps the predictions close to what the network learnt early, before it
/// memorised the wrong labels. The defaults are the authors' configuration for symmetric noise; for asymmetric
/// (pair) noise they use β = 0.9, λ = 1 (<see cref="ForNoise"/>). With co-teaching each network keeps its own
/// targets and the term is averaged over the samples it trains on.
/// </summary>
[Description("Early-learning regularisation (Liu et al. 2020, NeurIPS; shengliu66/ELR): per-example running targets t <- beta*t + (1-beta)*softmax; "
    + "the loss adds lambda*mean(log(1 - <t, p>)). The defaults are the authors' symmetric-noise setting; they use beta 0.9, lambda 1 for asymmetric (pair) noise.")]
public sealed record ElrSpec
{
    public const double DefaultLambda = 3;
    public const double MaxLambda = 100;
    public const double DefaultBeta = 0.7;

    /// <summary>λ, the weight of the regulariser, in (0, 100] (3 for symmetric noise, 1 for asymmetric).</summary>
    [Description("lambda, the weight of the regulariser; (0, 100]. 3 for symmetric noise, 1 for asymmetric (pair) noise.")]
    [DefaultValue(DefaultLambda)]
    [Range(0, MaxLambda, MinimumIsExclusive = true)]
    public double Lambda { get; init; } = DefaultLambda;

    /// <summary>β, the momentum of the running targets, in [0, 1) (0.7 for symmetric noise, 0.9 for asymmetric).</summary>
    [Description("beta, the momentum of the per-example running targets; [0, 1). 0.7 for symmetric noise, 0.9 for asymmetric (pair) noise.")]
    [DefaultValue(DefaultBeta)]
    [Range(0, 1, MaximumIsExclusive = true)]
    public double Beta { get; init; } = DefaultBeta;

    /// <summary>
    /// The authors' setting for a kind of noise (<see cref="NoiseKinds"/>): β = 0.9, λ = 1 for asymmetric (pair) noise,
    /// else the defaults β = 0.7, λ = 3 (Liu et al. 2020, CIFAR-10 configurations of shengliu66/ELR).
    /// </summary>
    public static ElrSpec ForNoise(string? noiseKind) =>
        noiseKind == NoiseKinds.Pair ? new ElrSpec { Lambda = 1, Beta = 0.9 } : new ElrSpec();

    internal void Validate(Rules rules, string path)
    {
        rules.Range($"{path}.lambda", Lambda, 0, MaxLambda, minExclusive: true);
        rules.Range($"{path}.beta", Beta, 0, 1, maxExclusive: true);
    }
}

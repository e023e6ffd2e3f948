using Domain.Jobs;
using static TorchSharp.torch;

namespace Training.Parts.Transforms;

/// <summary>
/// Multi-sample dropout (Inoue 2019, "Multi-Sample Dropout for Accelerated Training and Better Generalization",
/// arXiv 1905.09788): after each learner's full pass, K dropout masks of rate p are applied to its penultimate
/// features (<see cref="LearnerStep.Features"/>, after nested dropout's mask) and every masked copy goes through the
/// same classifier. The learner's per-sample loss becomes the mean of the K cross-entropies, so the selector ranks
/// on it (co-teaching's small-loss samples) and <see cref="Losses.CrossEntropyTerm"/> trains on it unchanged; its
/// logits become the mean of the K logits (training accuracy, co-teaching+'s disagreement, self-distillation's
/// teacher). Inference runs no dropout: the network itself has none. The masks come from torch's global generator,
/// which the session seeds per epoch, so the part has no state and resume stays exact.
/// With Maestro's hard-label mode (<c>maestro.selfDistillation</c> false) the full pass of a low-rank learner is not
/// trained, so there the K-sample loss only ranks samples.
/// </summary>
internal sealed class MultiSampleDropout(MultiSampleDropoutSpec spec) : ForwardTransform
{
    public override bool ActiveIn(StageKind stage) => stage is StageKind.Train or StageKind.Nested or StageKind.CoTeaching;

    public override void AfterFullPass(LearnerStep learner, StepContext step)
    {
        Tensor features = learner.Features;
        using Tensor masks = Masks(spec.Samples, features.shape[0], features.shape[1], spec.Rate, features.device);
        (learner.Logits, learner.PerSampleLoss) = KSample(features, masks, learner.Net.Head, step.Y);
    }

    /// <summary>
    /// K inverted-dropout masks [K, batch, features]: each entry is 0 with probability <paramref name="rate"/>, else
    /// 1/(1 − rate), so a masked feature keeps its expectation (all ones when the rate is 0).
    /// </summary>
    internal static Tensor Masks(int k, long batch, long features, double rate, Device device)
    {
        if (rate == 0)
        {
            return ones([k, batch, features], device: device);
        }
        using Tensor keep = empty([k, batch, features], device: device).bernoulli_(1 - rate);
        return keep.div(1 - rate);
    }

    /// <summary>
    /// The K-sample pass: <paramref name="head"/> on the features under each of the K masks. Returns the mean of the K
    /// logits [batch, classes] and the mean of the K per-sample cross-entropies against <paramref name="labels"/> [batch].
    /// </summary>
    internal static (Tensor Logits, Tensor PerSampleLoss) KSample(Tensor features, Tensor masks, Func<Tensor, Tensor> head, Tensor labels)
    {
        long k = masks.shape[0], batch = features.shape[0];
        Tensor logits = head(features.unsqueeze(0) * masks);
        long classes = logits.shape[^1];
        Tensor perSample = nn.functional.cross_entropy(logits.reshape(k * batch, classes), labels.repeat(k), reduction: nn.Reduction.None)
            .reshape(k, batch);
        return (logits.mean([0]), perSample.mean([0]));
    }
}

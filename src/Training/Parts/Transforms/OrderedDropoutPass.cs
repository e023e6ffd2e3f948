using Domain.Jobs;
using Training.Methods;

namespace Training.Parts.Transforms;

/// <summary>
/// Maestro's ordered dropout (Horváth et al. 2024, arXiv 2308.14929; SamsungLabs/maestro, Apache-2.0): after the
/// full pass, a second pass of each low-rank learner at ranks drawn by <see cref="OrderedDropoutSampler"/>, so every
/// rank prefix is trained. Its logits feed <see cref="Losses.SelfDistillationTerm"/> or <see cref="Losses.SampledCrossEntropyTerm"/>.
/// </summary>
internal sealed class OrderedDropoutPass(string sampling) : ForwardTransform
{
    public override bool ActiveIn(StageKind stage) => stage is StageKind.Train or StageKind.Nested or StageKind.CoTeaching;

    public override void AfterSelection(LearnerStep learner, StepContext step)
    {
        if (!learner.Net.IsLowRank)
        {
            return;
        }
        int[] ranks = OrderedDropoutSampler.Sample(learner.Net.Factorized.Select(l => l.ActiveRank).ToList(), sampling, step.Epoch.Random);
        learner.Net.SetTruncation(ranks);
        learner.SampledLogits = learner.Net.call(step.X);
        learner.Net.SetTruncation(null);
    }
}

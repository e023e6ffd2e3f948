using Domain.Jobs;
using static TorchSharp.torch;

namespace Training.Parts.Losses;

/// <summary>
/// Cross-entropy of the full pass on the selected samples. With ordered dropout but no self-distillation, Maestro
/// trains low-rank learners on the sampled pass only (<see cref="SampledCrossEntropyTerm"/>), so this term skips them.
/// </summary>
internal sealed class CrossEntropyTerm(bool sampledPassOnly) : LossTerm
{
    public override bool ActiveIn(StageKind stage) => true;

    public override Tensor? Compute(LearnerStep learner, StepContext step) =>
        sampledPassOnly && learner.SampledLogits is not null ? null : StepContext.SelectedMean(learner.PerSampleLoss, learner.Weights);
}

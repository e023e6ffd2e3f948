using Domain.Jobs;
using static TorchSharp.torch;

namespace Training.Parts.Losses;

/// <summary>Maestro without self-distillation: cross-entropy of the ordered-dropout pass on the hard (possibly noisy) labels.</summary>
internal sealed class SampledCrossEntropyTerm : LossTerm
{
    public override bool ActiveIn(StageKind stage) => stage is StageKind.Train or StageKind.Nested or StageKind.CoTeaching;

    public override Tensor? Compute(LearnerStep learner, StepContext step) =>
        learner.SampledLogits is null
            ? null
            : StepContext.SelectedMean(nn.functional.cross_entropy(learner.SampledLogits, step.Y, reduction: nn.Reduction.None), learner.Weights);
}

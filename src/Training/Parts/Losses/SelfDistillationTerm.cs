using Domain.Jobs;
using static TorchSharp.torch;

namespace Training.Parts.Losses;

/// <summary>
/// Maestro's self-distillation (Horváth et al. 2024, Sec. 3): the ordered-dropout pass learns the full pass's
/// detached softmax, −Σ_c softmax(z_full)_c · log softmax(z_sampled)_c, averaged over the selected samples.
/// </summary>
internal sealed class SelfDistillationTerm : LossTerm
{
    public override bool ActiveIn(StageKind stage) => stage is StageKind.Train or StageKind.Nested or StageKind.CoTeaching;

    public override Tensor? Compute(LearnerStep learner, StepContext step)
    {
        if (learner.SampledLogits is null)
        {
            return null;
        }
        Tensor teacher = nn.functional.softmax(learner.Logits.detach(), 1);
        Tensor perSample = -(teacher * nn.functional.log_softmax(learner.SampledLogits, 1)).sum(1);
        return StepContext.SelectedMean(perSample, learner.Weights);
    }
}

using Domain.Jobs;
using Training.Methods;

namespace Training.Parts.Transforms;

/// <summary>
/// Nested dropout on the penultimate features (Rippel et al. 2014; against noisy labels, Chen et al. 2021): each
/// learner draws one k per mini-batch with P(k) ∝ exp(−(k/σ)²) and its <see cref="Modules.FeatureMask"/> keeps
/// features 1..k for the full pass and any extra pass of that step. Stateless: draws come from the epoch's stream.
/// </summary>
internal sealed class NestedDropoutMask(int features, double sigma) : ForwardTransform
{
    private readonly NestedDropout _distribution = new(features, sigma);

    public override bool ActiveIn(StageKind stage) => stage == StageKind.Nested;

    public override void BeforeFullPass(LearnerStep learner, StepContext step) =>
        learner.Net.FeatureTruncation = _distribution.Sample(step.Epoch.Random);

    public override void OnEpochEnd(EpochContext epoch)
    {
        // Training draws are not a deployment setting; NestedKChoice fixes K at the end of the stage.
        foreach (Learner learner in epoch.Learners)
        {
            learner.Net.FeatureTruncation = null;
        }
    }
}

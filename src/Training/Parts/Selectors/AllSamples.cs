using Domain.Jobs;

namespace Training.Parts.Selectors;

/// <summary>Standard training: every learner trains on the whole batch.</summary>
internal sealed class AllSamples : SampleSelector
{
    public override bool ActiveIn(StageKind stage) => true;

    public override void Select(StepContext step)
    {
        foreach (LearnerStep learner in step.Learners)
        {
            learner.Weights = null;
        }
    }
}

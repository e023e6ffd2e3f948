namespace Training.Parts;

/// <summary>
/// Chooses the samples of a batch each learner trains on, as a 0/1 weight per sample (<see cref="LearnerStep.Weights"/>).
/// Weights instead of index lists keep shapes fixed, so selection never reads a count to the host. One selector acts per stage.
/// </summary>
internal abstract class SampleSelector : TrainingPart
{
    public abstract void Select(StepContext step);
}

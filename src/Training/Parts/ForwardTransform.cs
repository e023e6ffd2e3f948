namespace Training.Parts;

/// <summary>Changes or adds forward passes of a step: nested dropout's feature truncation, ordered dropout's sampled pass.</summary>
internal abstract class ForwardTransform : TrainingPart
{
    /// <summary>Before the full pass of one learner (e.g. set a truncation).</summary>
    public virtual void BeforeFullPass(LearnerStep learner, StepContext step)
    {
    }

    /// <summary>After the selection, before the loss terms (e.g. run an extra, truncated pass).</summary>
    public virtual void AfterSelection(LearnerStep learner, StepContext step)
    {
    }
}

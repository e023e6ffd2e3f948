namespace Training.Parts;

/// <summary>Changes or adds forward passes of a step: nested dropout's feature truncation, multi-sample dropout's K-sample loss, ordered dropout's sampled pass.</summary>
internal abstract class ForwardTransform : TrainingPart
{
    /// <summary>Before the full pass of one learner (e.g. set a truncation).</summary>
    public virtual void BeforeFullPass(LearnerStep learner, StepContext step)
    {
    }

    /// <summary>
    /// After the full pass of one learner, before the selection: may replace its <see cref="LearnerStep.Logits"/> and
    /// <see cref="LearnerStep.PerSampleLoss"/> (e.g. by a K-sample version computed from <see cref="LearnerStep.Features"/>),
    /// which the selector then ranks and the loss terms use.
    /// </summary>
    public virtual void AfterFullPass(LearnerStep learner, StepContext step)
    {
    }

    /// <summary>After the selection, before the loss terms (e.g. run an extra, truncated pass).</summary>
    public virtual void AfterSelection(LearnerStep learner, StepContext step)
    {
    }
}

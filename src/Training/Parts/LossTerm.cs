using static TorchSharp.torch;

namespace Training.Parts;

/// <summary>One additive term of a learner's loss; the step sums the active terms and back-propagates the sum.</summary>
internal abstract class LossTerm : TrainingPart
{
    /// <summary>The term for one learner, or null where it does not apply to that learner.</summary>
    public abstract Tensor? Compute(LearnerStep learner, StepContext step);
}

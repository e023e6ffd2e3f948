using Domain.Jobs;
using static TorchSharp.torch;

namespace Training.Parts;

/// <summary>
/// One piece of a training method: a forward transform, a sample selector, a loss term or an epoch hook. Like
/// TorchSharp's <c>LRScheduler</c> subclasses, a part holds only its own settings and state; the loop knows no
/// concrete part. A part that keeps state across epochs writes it in <see cref="WriteState"/> so a resumed run
/// continues exactly where an uninterrupted one would be.
/// </summary>
internal abstract class TrainingPart
{
    /// <summary>Identifies the part's block in a checkpoint.</summary>
    public virtual string Name => GetType().Name;

    /// <summary>Whether the part acts in stages of this kind.</summary>
    public abstract bool ActiveIn(StageKind stage);

    /// <summary>Called before the epoch's first step (only in stages where the part is active).</summary>
    public virtual void OnEpochStart(EpochContext epoch)
    {
    }

    /// <summary>
    /// The samples of the training split this epoch iterates, as sorted int64 indices on the session's device, or null
    /// for all of them (the default). Asked after every active part's <see cref="OnEpochStart"/>; the loop shuffles the
    /// returned samples with the epoch's seed, so the batches hold only them and every selector, loss term and per-example
    /// state sees them as a smaller training split. At most one active part may restrict an epoch. The part keeps
    /// ownership of the tensor.
    /// </summary>
    public virtual Tensor? EpochSamples(EpochContext epoch) => null;

    /// <summary>Called after the epoch's last step, before the epoch is reported and checkpointed.</summary>
    public virtual void OnEpochEnd(EpochContext epoch)
    {
    }

    /// <summary>Writes the state that must survive a checkpoint (nothing by default).</summary>
    public virtual void WriteState(BinaryWriter writer)
    {
    }

    /// <summary>Reads what <see cref="WriteState"/> wrote.</summary>
    public virtual void ReadState(BinaryReader reader)
    {
    }
}

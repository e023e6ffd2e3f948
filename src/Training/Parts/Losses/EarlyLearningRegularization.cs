using Domain.Jobs;
using Training.Engine;
using static TorchSharp.torch;

namespace Training.Parts.Losses;

/// <summary>
/// Early-learning regularisation (Liu et al. 2020, "Early-Learning Regularization Prevents Memorization of Noisy
/// Labels", NeurIPS; the authors' code shengliu66/ELR, MIT licence, followed for the clamp and the update order):
/// every example i of the training split keeps a running target t_i, updated inside the step as
/// t_i ← β·t_i + (1 − β)·p̂_i with p̂_i the detached softmax clamped to [1e-4, 1 − 1e-4] and renormalised; the term is
/// λ·mean_i log(1 − ⟨t_i, p_i⟩) with p_i the clamped softmax (with gradient), over the samples the learner trains on.
/// Targets start at zero, as in the authors' code. Each main learner (co-teaching's two) keeps its own N × C targets on
/// the device; they are updated for every sample of the batch (a target only follows the network's own predictions,
/// whatever the selection) with <c>index_copy_</c>, so no value is read to the host in a step. The targets are the
/// part's checkpoint state, written after the epoch. Acts on the logits of the full pass (with multi-sample dropout,
/// the mean of its K logits).
/// </summary>
internal sealed class EarlyLearningRegularization : LossTerm, IDisposable
{
    private const double Clamp = 1e-4;

    private readonly ElrSpec _spec;
    private readonly Tensor[] _targets;

    /// <param name="spec">λ and β.</param>
    /// <param name="learners">Main learners (one target table each).</param>
    /// <param name="examples">Size of the training split (<see cref="StepContext.Indices"/> index it).</param>
    /// <param name="classes">Classes of the task.</param>
    /// <param name="device">Where the targets live.</param>
    public EarlyLearningRegularization(ElrSpec spec, int learners, long examples, int classes, Device device)
    {
        _spec = spec;
        _targets = Enumerable.Range(0, learners).Select(_ => zeros([examples, classes], device: device)).ToArray();
    }

    public override bool ActiveIn(StageKind stage) => stage is StageKind.Train or StageKind.Nested or StageKind.CoTeaching;

    /// <summary>The running targets of the main learner <paramref name="learner"/> (N × C).</summary>
    internal Tensor Targets(int learner) => _targets[learner];

    public override Tensor? Compute(LearnerStep learner, StepContext step) =>
        learner.Learner.Index < 0
            ? null
            : Term(learner.Logits, _targets[learner.Learner.Index], step.Indices, learner.Weights, _spec.Beta, _spec.Lambda);

    /// <summary>
    /// Updates the rows <paramref name="indices"/> of <paramref name="targets"/> in place from <paramref name="logits"/>
    /// and returns λ·(mean over the selected samples of log(1 − ⟨t_i, p_i⟩)) with the updated targets.
    /// </summary>
    internal static Tensor Term(Tensor logits, Tensor targets, Tensor indices, Tensor? weights, double beta, double lambda)
    {
        Tensor p = nn.functional.softmax(logits, 1).clamp(Clamp, 1 - Clamp);
        Tensor updated;
        using (no_grad())
        {
            Tensor detached = p.detach();
            Tensor normalised = detached / detached.sum(1, keepdim: true);
            updated = targets.index_select(0, indices).mul(beta).add_(normalised.mul(1 - beta));
            targets.index_copy_(0, indices, updated);
        }
        Tensor perSample = (1 - (updated * p).sum(1)).log();
        return lambda * StepContext.SelectedMean(perSample, weights);
    }

    public override void WriteState(BinaryWriter writer)
    {
        writer.Write(_targets.Length);
        foreach (Tensor targets in _targets)
        {
            // Checkpoints are written between epochs, where host reads are allowed.
            double[] values = HostSync.Values(targets);
            writer.Write(values.Length);
            foreach (double value in values)
            {
                writer.Write((float)value);
            }
        }
    }

    public override void ReadState(BinaryReader reader)
    {
        if (reader.ReadInt32() != _targets.Length)
        {
            throw new InvalidDataException("The checkpoint's ELR targets are for a different number of networks.");
        }
        foreach (Tensor targets in _targets)
        {
            int count = reader.ReadInt32();
            if (count != targets.numel())
            {
                throw new InvalidDataException("The checkpoint's ELR targets have a different shape.");
            }
            var values = new float[count];
            for (int i = 0; i < count; i++)
            {
                values[i] = reader.ReadSingle();
            }
            using Tensor loaded = tensor(values, targets.shape, device: targets.device);
            using (no_grad())
            {
                targets.copy_(loaded);
            }
        }
    }

    public void Dispose()
    {
        foreach (Tensor targets in _targets)
        {
            targets.Dispose();
        }
    }
}

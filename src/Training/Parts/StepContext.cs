using static TorchSharp.torch;

namespace Training.Parts;

/// <summary>One mini-batch step: the batch, every learner's tensors and the epoch it belongs to. Lives inside the step's dispose scope.</summary>
internal sealed class StepContext(EpochContext epoch, Tensor x, Tensor y, Tensor indices, IReadOnlyList<LearnerStep> learners)
{
    public EpochContext Epoch { get; } = epoch;

    public Tensor X { get; } = x;

    /// <summary>The (possibly noisy) training labels.</summary>
    public Tensor Y { get; } = y;

    /// <summary>Each sample's index in the training split (for per-example state).</summary>
    public Tensor Indices { get; } = indices;

    public int Count => (int)X.shape[0];

    public IReadOnlyList<LearnerStep> Learners { get; } = learners;

    /// <summary>Mean of a per-sample value over the selected samples (<paramref name="weights"/> null: all samples).</summary>
    public static Tensor SelectedMean(Tensor perSample, Tensor? weights) =>
        weights is null ? perSample.mean() : (perSample * weights).sum() / weights.sum().clamp_min(1);
}

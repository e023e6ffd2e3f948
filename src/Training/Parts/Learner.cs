using Training.Modules;
using static TorchSharp.torch;

namespace Training.Parts;

/// <summary>A network and its optimiser. <see cref="Index"/> is its position among the session's main networks (−1 for the dense ones).</summary>
internal sealed record Learner(ClassifierNetwork Net, optim.Optimizer Optimizer, int Index);

/// <summary>One learner's tensors within one step.</summary>
internal sealed class LearnerStep(Learner learner)
{
    public Learner Learner { get; } = learner;

    public ClassifierNetwork Net => Learner.Net;

    /// <summary>Penultimate features of the full pass after the feature mask (<see cref="ClassifierNetwork.MaskedFeatures"/>), attached to the graph.</summary>
    public Tensor Features { get; set; } = null!;

    /// <summary>Logits of the full pass (active ranks), attached to the graph.</summary>
    public Tensor Logits { get; set; } = null!;

    /// <summary>Per-sample cross-entropy of the full pass, attached to the graph.</summary>
    public Tensor PerSampleLoss { get; set; } = null!;

    /// <summary>0/1 weight per sample: the samples this learner trains on; null trains on all.</summary>
    public Tensor? Weights { get; set; }

    /// <summary>Logits of an extra pass at sampled (ordered-dropout) ranks, when a transform ran one.</summary>
    public Tensor? SampledLogits { get; set; }
}

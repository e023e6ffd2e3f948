using Domain.Jobs;

namespace Training.Engine;

/// <summary>
/// Labelled samples held in memory: <see cref="Features"/> is row-major N × prod(<see cref="SampleShape"/>),
/// scaled to [0, 1]; <see cref="Labels"/> holds class indices in [0, <see cref="Classes"/>).
/// </summary>
public sealed class LabeledData
{
    public LabeledData(float[] features, int[] labels, IReadOnlyList<int> sampleShape, int classes)
    {
        int size = sampleShape.Aggregate(1, (a, b) => a * b);
        if (features.Length != labels.Length * size)
        {
            throw new ArgumentException($"features has {features.Length} values; expected {labels.Length} × {size}.", nameof(features));
        }
        Features = features;
        Labels = labels;
        SampleShape = sampleShape;
        Classes = classes;
    }

    public float[] Features { get; }

    public int[] Labels { get; }

    public IReadOnlyList<int> SampleShape { get; }

    public int Classes { get; }

    public int Count => Labels.Length;

    public int FeatureSize => SampleShape.Aggregate(1, (a, b) => a * b);
}

/// <summary>One training execution: the spec and its data. Test labels are always the clean ones.</summary>
public sealed record TrainingRequest(JobSpec Spec, LabeledData Train, LabeledData Test);

/// <summary>Metrics of one finished epoch. <see cref="Epoch"/> counts from 1 over all stages.</summary>
public sealed record EpochReport(
    int Epoch,
    int Epochs,
    string Stage,
    double TrainLoss,
    double TrainAccuracy,
    double TestAccuracy,
    double? LabelPrecision,
    double Seconds,
    IReadOnlyDictionary<string, double> Extra);

/// <summary>Test accuracy of the network truncated to one rank fraction (every layer at the same fraction).</summary>
public sealed record RankPoint(
    double RankFraction,
    IReadOnlyList<int> Ranks,
    long Parameters,
    long Flops,
    double Accuracy,
    double? SvdAccuracy = null,
    long? SvdParameters = null);

/// <summary>What a finished training returns: the rank sweep and a writer for the final weights.</summary>
public sealed record TrainingOutcome(
    IReadOnlyList<RankPoint> Curve,
    double TestAccuracy,
    Action<Stream> WriteModel)
{
    /// <summary>Test accuracy of the dense baseline when <c>sweep.svdBaseline</c> trained one; otherwise null.</summary>
    public double? DenseAccuracy { get; init; }

    /// <summary>The epoch (1-based, over all stages) whose model is shipped.</summary>
    public int ShippedEpoch { get; init; }

    /// <summary>How the shipped epoch was chosen: <c>last</c> or <c>best-validation</c>.</summary>
    public string ModelSelection { get; init; } = "last";

    /// <summary>Accuracy of the shipped model on the validation split of the (noisy) training labels, when it was chosen on it.</summary>
    public double? ValidationAccuracy { get; init; }
}

/// <summary>Receives progress on the training thread. Implementations must not block for long.</summary>
public interface ITrainingObserver
{
    /// <summary>
    /// Called after every epoch. <paramref name="writeCheckpoint"/> writes model, optimiser, RNG and
    /// epoch state to a stream; passing that stream back as <c>resumeFrom</c> continues at the next epoch.
    /// The delegate captures the live training state: call it during this callback, not later.
    /// </summary>
    void OnEpochCompleted(EpochReport report, Action<Stream> writeCheckpoint);
}

/// <summary>Where and how the engine computes.</summary>
public sealed record TrainingEngineOptions
{
    /// <summary><c>auto</c> (CUDA when available), <c>cpu</c> or <c>cuda</c>.</summary>
    public string Device { get; init; } = "auto";

    /// <summary>Torch intra-op threads; 0 keeps libtorch's default.</summary>
    public int Threads { get; init; }
}

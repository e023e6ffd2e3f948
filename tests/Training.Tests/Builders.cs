using TorchSharp;

namespace Training.Tests;

/// <summary>Synthetic data and job specs for fast CPU tests.</summary>
internal static class Builders
{
    /// <summary>Gaussian blobs (<see cref="TestSupport.SyntheticBlobs.Make"/>).</summary>
    public static (LabeledData Train, LabeledData Test) Blobs(int train = 600, int test = 300, int dims = 16, int classes = 4, double spread = 0.08, int seed = 7) =>
        TestSupport.SyntheticBlobs.Make(train, test, dims, classes, spread, seed);

    public static JobSpec Spec(int epochs = 4, int seed = 1, IReadOnlyList<int>? hidden = null) => new()
    {
        DatasetId = Guid.NewGuid(),
        Model = new ModelSpec { Hidden = hidden ?? [32, 16] },
        Training = new TrainingSpec { Epochs = epochs, BatchSize = 32, LearningRate = 3e-3, Seed = seed },
        Sweep = new SweepSpec { RankFractions = [1.0, 0.25, 0.5] },
    };

    public static TrainingEngine Engine() => new(new TrainingEngineOptions { Device = "cpu", Threads = 1 });

    /// <summary>Records every epoch and keeps each epoch's checkpoint bytes.</summary>
    public sealed class RecordingObserver : ITrainingObserver
    {
        public List<EpochReport> Reports { get; } = [];

        public List<byte[]> Checkpoints { get; } = [];

        public Action<EpochReport>? OnEpoch { get; init; }

        public void OnEpochCompleted(EpochReport report, Action<Stream> writeCheckpoint)
        {
            Reports.Add(report);
            using var stream = new MemoryStream();
            writeCheckpoint(stream);
            Checkpoints.Add(stream.ToArray());
            OnEpoch?.Invoke(report);
        }
    }

    /// <summary>The metrics that must reproduce exactly (everything but wall time, selection time and RSS).</summary>
    public static string Metrics(EpochReport r) =>
        FormattableString.Invariant($"{r.Epoch}/{r.Epochs} {r.Stage} loss={r.TrainLoss:R} acc={r.TrainAccuracy:R} test={r.TestAccuracy:R} prec={r.LabelPrecision:R} ")
        + string.Join(",", r.Extra.Where(e => e.Key is not ("rssBytes" or "selectionSeconds")).OrderBy(e => e.Key).Select(e => FormattableString.Invariant($"{e.Key}={e.Value:R}")));

    public static torch.Tensor Tensor(LabeledData data) => torch.tensor(data.Features, [data.Count, data.FeatureSize]);
}

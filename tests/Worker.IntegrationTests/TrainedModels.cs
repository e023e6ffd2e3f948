namespace Worker.IntegrationTests;

/// <summary>A small trained MLP and CNN (model files, rank sweeps and held-out inputs), trained once per test class.</summary>
public sealed class TrainedModels
{
    public TrainedModels()
    {
        var (train, test) = TestSupport.SyntheticBlobs.Make(train: 400, test: 200, dims: 16, classes: 4, spread: 0.08, seed: 7);
        MlpTest = test;
        (Mlp, MlpCurve) = Train(Spec(new ModelSpec { Hidden = [32, 16] }, epochs: 3, batchSize: 32, learningRate: 3e-3), train, test);

        var (imageTrain, imageTest) = TestSupport.SyntheticBlobs.Make(train: 300, test: 100, dims: 256, classes: 3, spread: 0.15, seed: 7);
        CnnTest = new LabeledData(imageTest.Features, imageTest.Labels, [1, 16, 16], 3);
        (Cnn, CnnCurve) = Train(
            Spec(new ModelSpec { Kind = ModelKinds.Cnn, Hidden = [16], Channels = [4, 6] }, epochs: 2, batchSize: 16, learningRate: 1e-2),
            new LabeledData(imageTrain.Features, imageTrain.Labels, [1, 16, 16], 3),
            CnnTest);
    }

    /// <summary>Low-rank MLP 16 → 32 → 16 → 4.</summary>
    public byte[] Mlp { get; }

    public IReadOnlyList<RankPoint> MlpCurve { get; }

    public LabeledData MlpTest { get; }

    /// <summary>Low-rank CNN 1×16×16 → conv5 4 → conv5 6 → 16 → 3.</summary>
    public byte[] Cnn { get; }

    public IReadOnlyList<RankPoint> CnnCurve { get; }

    public LabeledData CnnTest { get; }

    public (byte[] Model, IReadOnlyList<RankPoint> Curve, LabeledData Test) Get(string name) => name switch
    {
        "mlp" => (Mlp, MlpCurve, MlpTest),
        "cnn" => (Cnn, CnnCurve, CnnTest),
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, null),
    };

    /// <summary>The MLP with nested-dropout truncation K set, so exports carry the feature mask.</summary>
    public byte[] MlpWithFeatureTruncation(int k)
    {
        using var network = ModelFile.Read(new MemoryStream(Mlp));
        network.FeatureTruncation = k;
        using var file = new MemoryStream();
        ModelFile.Write(file, network);
        return file.ToArray();
    }

    private static JobSpec Spec(ModelSpec model, int epochs, int batchSize, double learningRate) => new()
    {
        DatasetId = Guid.NewGuid(),
        Model = model,
        Training = new TrainingSpec { Epochs = epochs, BatchSize = batchSize, LearningRate = learningRate, Seed = 1 },
        Sweep = new SweepSpec { RankFractions = [0.25, 0.5, 1.0] },
    };

    private static (byte[] Model, IReadOnlyList<RankPoint> Curve) Train(JobSpec spec, LabeledData train, LabeledData test)
    {
        var engine = new TrainingEngine(new TrainingEngineOptions { Device = "cpu" });
        TrainingOutcome outcome = engine.Run(new TrainingRequest(spec, train, test), new NullObserver(), null, CancellationToken.None);
        using var file = new MemoryStream();
        outcome.WriteModel(file);
        return (file.ToArray(), outcome.Curve);
    }

    private sealed class NullObserver : ITrainingObserver
    {
        public void OnEpochCompleted(EpochReport report, Action<Stream> writeCheckpoint)
        {
        }
    }
}

using Training.Modules;

namespace Training.Tests.Export;

/// <summary>A small trained MLP and CNN (model files and their rank sweeps), trained once per test class.</summary>
public sealed class ExportModels
{
    public ExportModels()
    {
        var (train, test) = Builders.Blobs(train: 400, test: 200);
        MlpTest = test;
        (Mlp, MlpCurve) = Train(Builders.Spec(epochs: 3) with
        {
            Sweep = new SweepSpec { RankFractions = [0.25, 0.5, 1.0] },
        }, train, test);

        var (imageTrain, imageTest) = Builders.Blobs(train: 300, test: 100, dims: 256, classes: 3, spread: 0.15);
        CnnTest = new LabeledData(imageTest.Features, imageTest.Labels, [1, 16, 16], 3);
        (Cnn, CnnCurve) = Train(Builders.Spec(epochs: 2) with
        {
            Model = new ModelSpec { Kind = ModelKinds.Cnn, Hidden = [16], Channels = [4, 6] },
            Training = new TrainingSpec { Epochs = 2, BatchSize = 16, LearningRate = 1e-2 },
            Sweep = new SweepSpec { RankFractions = [0.25, 0.5, 1.0] },
        }, new LabeledData(imageTrain.Features, imageTrain.Labels, [16, 16], 3), CnnTest);
    }

    /// <summary>MLP 16 → 32 → 16 → 4 (low-rank), model file bytes.</summary>
    public byte[] Mlp { get; }

    public IReadOnlyList<RankPoint> MlpCurve { get; }

    public LabeledData MlpTest { get; }

    /// <summary>CNN 1×16×16 → conv5 4 → conv5 6 → 16 → 3 (low-rank), model file bytes.</summary>
    public byte[] Cnn { get; }

    public IReadOnlyList<RankPoint> CnnCurve { get; }

    public LabeledData CnnTest { get; }

    /// <summary>The MLP with nested-dropout truncation K set, so exports carry the feature mask.</summary>
    public byte[] MlpWithFeatureTruncation(int k)
    {
        using var network = ModelFile.Read(new MemoryStream(Mlp));
        network.FeatureTruncation = k;
        using var file = new MemoryStream();
        ModelFile.Write(file, network);
        return file.ToArray();
    }

    private static (byte[] Model, IReadOnlyList<RankPoint> Curve) Train(JobSpec spec, LabeledData train, LabeledData test)
    {
        TrainingOutcome outcome = Builders.Engine().Run(new TrainingRequest(spec, train, test), new Builders.RecordingObserver(), null, CancellationToken.None);
        using var file = new MemoryStream();
        outcome.WriteModel(file);
        return (file.ToArray(), outcome.Curve);
    }
}

using Training.Modules;

namespace Training.Tests;

public class SweepAndModelTests
{
    [Fact]
    public void Run_WithSvdBaseline_FullRankSvdPointEqualsDenseAccuracy_AndParametersMatch()
    {
        // Arrange
        var (train, test) = Builders.Blobs(train: 600, test: 300);
        JobSpec spec = Builders.Spec(epochs: 2) with { Sweep = new SweepSpec { RankFractions = [0.125, 0.5, 1.0], SvdBaseline = true } };
        var observer = new Builders.RecordingObserver();

        // Act
        TrainingOutcome outcome = Builders.Engine().Run(new TrainingRequest(spec, train, test), observer, null, CancellationToken.None);

        // Assert: stage "dense-baseline" follows the Maestro stage, and SVD at full rank reproduces the dense network.
        Assert.Equal(["maestro", "maestro", "dense-baseline", "dense-baseline"], observer.Reports.Select(r => r.Stage));
        Assert.NotNull(outcome.DenseAccuracy);
        Assert.Equal(outcome.DenseAccuracy!.Value, outcome.Curve[^1].SvdAccuracy!.Value, 12);
        Assert.All(outcome.Curve, p => Assert.Equal(p.Parameters, p.SvdParameters));
        // Ranks ⌈⅛·16⌉ = 2 for 16→32 (r = 16) and 32→16 (r = 16).
        Assert.Equal([2, 2], outcome.Curve[0].Ranks);
        // 16→32 at rank 2: 2·(16+32)+32; 32→16 at rank 2: 2·(32+16)+16; dense classifier 16·4+4.
        Assert.Equal(2 * 48 + 32 + 2 * 48 + 16 + 68, outcome.Curve[0].Parameters);
        Assert.Equal(2 * (2 * 48 + 2 * 48 + 16 * 4), outcome.Curve[0].Flops);
    }

    [Fact]
    public void Run_StrongGroupLasso_ShrinksRanksAndWritesThePhysicallySmallerModel()
    {
        // Arrange: a large λ and threshold make progressive shrinking drop ranks within two epochs.
        var (train, test) = Builders.Blobs(train: 600, test: 200);
        JobSpec spec = Builders.Spec(epochs: 2) with
        {
            Training = Builders.Spec(epochs: 2).Training with { Schedule = Schedules.None },
            Maestro = new MaestroSpec { GroupLasso = 0.02, ShrinkThreshold = 0.05 },
        };
        var observer = new Builders.RecordingObserver();

        // Act
        TrainingOutcome outcome = Builders.Engine().Run(new TrainingRequest(spec, train, test), observer, null, CancellationToken.None);
        using var file = new MemoryStream();
        outcome.WriteModel(file);
        file.Position = 0;
        using ClassifierNetwork model = Engine.ModelFile.Read(file);

        // Assert
        int[] ranks = [(int)observer.Reports[^1].Extra["rank0"], (int)observer.Reports[^1].Extra["rank1"]];
        Assert.True(ranks[0] < 16 || ranks[1] < 16, $"ranks {string.Join(",", ranks)}");
        Assert.Equal(ranks, model.Factorized.Select(l => (int)l.ComponentsIn.shape[0]));
        Assert.Equal(observer.Reports[^1].Extra["parameters"], model.parameters().Sum(p => p.numel()));
        Assert.All(outcome.Curve, p => Assert.True(p.Ranks[0] <= ranks[0] && p.Ranks[1] <= ranks[1]));
        Assert.Equal(outcome.TestAccuracy, outcome.Curve[^1].Accuracy, 12);
    }

    [Fact]
    public void Run_LowRankCnnOnImages_TrainsAndRoundTripsThroughModelFile()
    {
        // Arrange: 16×16 single-channel "images" built from blob features.
        var (train, test) = Builders.Blobs(train: 400, test: 100, dims: 256, classes: 3, spread: 0.15);
        var trainImages = new LabeledData(train.Features, train.Labels, [16, 16], 3);
        var testImages = new LabeledData(test.Features, test.Labels, [1, 16, 16], 3);
        JobSpec spec = Builders.Spec(epochs: 3) with
        {
            Model = new ModelSpec { Kind = ModelKinds.Cnn, Hidden = [16], Channels = [4, 6] },
            // The recipe this smoke test of the convolutional path was written for (the defaults are tuned on MLPs).
            Training = new TrainingSpec { Epochs = 3, BatchSize = 16, LearningRate = 1e-2, Schedule = Schedules.None },
            Maestro = new MaestroSpec { Sampling = MaestroSampling.LayerRank, DenseWarmupEpochs = 0 },
        };

        // Act
        var observer = new Builders.RecordingObserver();
        TrainingOutcome outcome = Builders.Engine().Run(new TrainingRequest(spec, trainImages, testImages), observer, null, CancellationToken.None);
        using var file = new MemoryStream();
        outcome.WriteModel(file);
        file.Position = 0;
        using ClassifierNetwork model = Engine.ModelFile.Read(file);

        // Assert: conv ranks are min(out, in·k²) = 4 and 6, then min(6·1·1, 16) = 6.
        Assert.True(outcome.TestAccuracy > 0.6, $"accuracy {outcome.TestAccuracy}; " + string.Join(" | ", observer.Reports.Select(Builders.Metrics)));
        Assert.Equal([4, 6, 6], outcome.Curve[^1].Ranks);
        using var x = Builders.Tensor(testImages);
        Assert.Equal(outcome.TestAccuracy, Evaluation.Accuracy(model, x, TorchSharp.torch.tensor(test.Labels.Select(l => (long)l).ToArray())), 12);
    }
}

namespace Training.Tests;

public class TrainingEngineTests
{
    [Fact]
    public void Run_MaestroMlpOnSeparableBlobs_FullRankAccuracyFarAboveChance()
    {
        // Arrange
        var (train, test) = Builders.Blobs();
        var observer = new Builders.RecordingObserver();

        // Act
        TrainingOutcome outcome = Builders.Engine().Run(new TrainingRequest(Builders.Spec(), train, test), observer, null, CancellationToken.None);

        // Assert: chance is 0.25 for four classes.
        Assert.True(outcome.TestAccuracy > 0.9, $"accuracy {outcome.TestAccuracy}");
        Assert.Equal([1, 2, 3, 4], observer.Reports.Select(r => r.Epoch));
        Assert.All(observer.Reports, r => Assert.Equal(4, r.Epochs));
        Assert.All(observer.Reports, r => Assert.Null(r.LabelPrecision));
        Assert.Equal([0.25, 0.5, 1.0], outcome.Curve.Select(p => p.RankFraction));
        Assert.Equal([16, 16], outcome.Curve[^1].Ranks);
        Assert.Equal([4, 4], outcome.Curve[0].Ranks);
        Assert.True(outcome.Curve[0].Parameters < outcome.Curve[^1].Parameters);
        Assert.True(outcome.Curve[0].Flops < outcome.Curve[^1].Flops);
        Assert.Equal(outcome.TestAccuracy, outcome.Curve[^1].Accuracy, 12);
    }

    [Fact]
    public void Run_ResumedFromEpoch2Checkpoint_ReproducesRemainingMetricsExactly()
    {
        // Arrange: SGD with momentum, group lasso and the uniform-fraction sampler exercise every piece of state.
        var (train, test) = Builders.Blobs();
        JobSpec spec = Builders.Spec(epochs: 4) with
        {
            Training = new TrainingSpec { Epochs = 4, BatchSize = 32, LearningRate = 0.05, Optimizer = "sgd", Schedule = "cosine", Seed = 3 },
            Maestro = new MaestroSpec { GroupLasso = 1e-3, Sampling = MaestroSampling.UniformFraction },
        };
        var request = new TrainingRequest(spec, train, test);
        var full = new Builders.RecordingObserver();
        TrainingOutcome expected = Builders.Engine().Run(request, full, null, CancellationToken.None);

        // Act
        var resumed = new Builders.RecordingObserver();
        using var checkpoint = new MemoryStream(full.Checkpoints[1]);
        TrainingOutcome actual = Builders.Engine().Run(request, resumed, checkpoint, CancellationToken.None);

        // Assert
        Assert.Equal([3, 4], resumed.Reports.Select(r => r.Epoch));
        Assert.Equal(full.Reports.Skip(2).Select(Builders.Metrics), resumed.Reports.Select(Builders.Metrics));
        Assert.Equal(expected.TestAccuracy, actual.TestAccuracy);
        Assert.Equal(expected.Curve.Select(p => p.Accuracy), actual.Curve.Select(p => p.Accuracy));
    }

    [Fact]
    public void Run_SameSeedTwice_IdenticalMetrics_DifferentSeed_DifferentMetrics()
    {
        // Arrange
        var (train, test) = Builders.Blobs(train: 300, test: 100);
        JobSpec spec = Builders.Spec(epochs: 2);

        // Act
        var a = new Builders.RecordingObserver();
        var b = new Builders.RecordingObserver();
        var c = new Builders.RecordingObserver();
        Builders.Engine().Run(new TrainingRequest(spec, train, test), a, null, CancellationToken.None);
        Builders.Engine().Run(new TrainingRequest(spec, train, test), b, null, CancellationToken.None);
        Builders.Engine().Run(new TrainingRequest(spec with { Training = spec.Training with { Seed = 2 } }, train, test), c, null, CancellationToken.None);

        // Assert
        Assert.Equal(a.Reports.Select(Builders.Metrics), b.Reports.Select(Builders.Metrics));
        Assert.NotEqual(a.Reports.Select(r => r.TrainLoss), c.Reports.Select(r => r.TrainLoss));
    }

    [Fact]
    public void Run_TokenCancelledAfterFirstEpoch_ThrowsOperationCanceledBeforeSecondEpochEnds()
    {
        // Arrange
        var (train, test) = Builders.Blobs(train: 300, test: 100);
        using var cts = new CancellationTokenSource();
        var observer = new Builders.RecordingObserver { OnEpoch = _ => cts.Cancel() };

        // Act + Assert
        Assert.ThrowsAny<OperationCanceledException>(() =>
            Builders.Engine().Run(new TrainingRequest(Builders.Spec(epochs: 5), train, test), observer, null, cts.Token));
        Assert.Single(observer.Reports);
    }

    [Fact]
    public void Run_CheckpointOfAnotherRun_IsRejected()
    {
        // Arrange
        var (train, test) = Builders.Blobs(train: 200, test: 50);
        var observer = new Builders.RecordingObserver();
        Builders.Engine().Run(new TrainingRequest(Builders.Spec(epochs: 1), train, test), observer, null, CancellationToken.None);
        JobSpec other = Builders.Spec(epochs: 1, hidden: [24, 16]);

        // Act + Assert
        using var checkpoint = new MemoryStream(observer.Checkpoints[0]);
        Assert.Throws<InvalidDataException>(() =>
            Builders.Engine().Run(new TrainingRequest(other, train, test), new Builders.RecordingObserver(), checkpoint, CancellationToken.None));
    }

    [Fact]
    public void Run_InvalidSpec_ThrowsValidationErrorsBeforeTraining()
    {
        // Arrange: a CNN cannot run on tabular samples, and co-teaching without noise needs a forget rate.
        var (train, test) = Builders.Blobs(train: 50, test: 10);
        JobSpec spec = Builders.Spec() with { Model = new ModelSpec { Kind = ModelKinds.Cnn }, CoTeaching = new CoTeachingSpec() };

        // Act
        var error = Assert.Throws<Domain.Common.DomainValidationException>(() =>
            Builders.Engine().Run(new TrainingRequest(spec, train, test), new Builders.RecordingObserver(), null, CancellationToken.None));

        // Assert
        Assert.Contains(error.Errors, e => e.Field == "model.kind");
        Assert.Contains(error.Errors, e => e.Field == "coTeaching.forgetRate");
    }
}

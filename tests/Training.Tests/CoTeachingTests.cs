using Training.Methods;
using static TorchSharp.torch;

namespace Training.Tests;

public class CoTeachingTests
{
    [Theory]
    [InlineData(0, 0.0)]
    [InlineData(5, 0.2)]
    [InlineData(10, 0.4)]
    [InlineData(25, 0.4)]
    public void ForgetRate_LinearRamp_MatchesTauTimesMinOfTOverTk(int epoch, double expected)
    {
        Assert.Equal(expected, CoTeaching.ForgetRate(epoch, tau: 0.4, gradualEpochs: 10), 12);
    }

    [Fact]
    public void ForgetRate_WithExponent_RaisesRampToC()
    {
        Assert.Equal(0.5 * Math.Pow(0.3, 2), CoTeaching.ForgetRate(3, 0.5, 10, exponent: 2), 12);
        Assert.Equal(70, CoTeaching.Keep(100, 0.3));
        Assert.Equal(89, CoTeaching.Keep(128, 0.3)); // ⌊0.7·128⌋ = ⌊89.6⌋
    }

    [Fact]
    public void SmallLoss_KeepsEachNetworksSmallestLosses()
    {
        using var scope = NewDisposeScope();
        Tensor loss1 = tensor(new float[] { 0.9f, 0.1f, 0.5f, 0.2f });
        Tensor loss2 = tensor(new float[] { 0.1f, 0.8f, 0.3f, 0.7f });

        var (first, second) = CoTeaching.SmallLoss(loss1, loss2, 2);

        Assert.Equal([0f, 1, 0, 1], first.data<float>().ToArray());
        Assert.Equal([1f, 0, 1, 0], second.data<float>().ToArray());
    }

    [Fact]
    public void Disagreement_SelectsSmallLossAmongDisagreeingSamplesOnly()
    {
        using var scope = NewDisposeScope();
        // Predictions: net1 → 0, 1, 1, 0; net2 → 0, 0, 1, 1. They disagree on samples 1 and 3.
        Tensor logits1 = tensor(new float[] { 1, 0, 0, 1, 0, 1, 1, 0 }, 4, 2);
        Tensor logits2 = tensor(new float[] { 1, 0, 1, 0, 0, 1, 0, 1 }, 4, 2);
        Tensor loss1 = tensor(new float[] { 0.0f, 0.5f, 0.0f, 0.4f });
        Tensor loss2 = tensor(new float[] { 0.0f, 0.3f, 0.0f, 0.6f });

        var (first, second) = CoTeaching.Disagreement(logits1, logits2, loss1, loss2, forgetRate: 0.5);

        Assert.Equal([0f, 0, 0, 1], first.data<float>().ToArray());
        Assert.Equal([0f, 1, 0, 0], second.data<float>().ToArray());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Run_SeparableBlobsWith40PercentSymmetricNoise_SelectedLabelPrecisionWellAbove06(bool plus)
    {
        // Arrange: 40% of the training labels are wrong, so selecting at random would give precision 0.6.
        var (train, test) = Builders.Blobs(train: 1500, test: 300, dims: 16, classes: 4, spread: 0.1);
        JobSpec spec = Builders.Spec(epochs: 6) with
        {
            Model = new ModelSpec { Hidden = [32, 16], LowRank = false },
            Noise = new NoiseSpec { Kind = NoiseKinds.Symmetric, Rate = 0.4 },
            CoTeaching = new CoTeachingSpec { GradualEpochs = 3, Plus = plus, PlusStartEpoch = 3 },
        };
        var observer = new Builders.RecordingObserver();

        // Act
        TrainingOutcome outcome = Builders.Engine().Run(new TrainingRequest(spec, train, test), observer, null, CancellationToken.None);

        // Assert
        EpochReport first = observer.Reports[0];
        EpochReport last = observer.Reports[^1];
        Assert.Equal(plus ? "co-teaching-plus" : "co-teaching", last.Stage);
        Assert.Equal(0.0, first.Extra["forgetRate"], 12);
        Assert.Equal(0.4, last.Extra["forgetRate"], 12);
        Assert.InRange(first.LabelPrecision!.Value, 0.55, 0.65); // R(0) = 0 keeps everything: the raw noise level
        Assert.True(last.LabelPrecision > 0.85, $"label precision {last.LabelPrecision}");
        Assert.True(outcome.TestAccuracy > 0.85, $"clean test accuracy {outcome.TestAccuracy}");
    }
}

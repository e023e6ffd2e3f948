using TorchSharp;
using Training.Methods;
using Training.Modules;
using static TorchSharp.torch;

namespace Training.Tests;

public class NestedDropoutTests
{
    [Fact]
    public void Probabilities_MatchExpOfMinusKOverSigmaSquared()
    {
        double[] p = NestedDropout.ProbabilitiesFor(64, sigma: 10);

        double z = Enumerable.Range(1, 64).Sum(k => Math.Exp(-Math.Pow(k / 10.0, 2)));
        for (int k = 1; k <= 64; k++)
        {
            Assert.Equal(Math.Exp(-Math.Pow(k / 10.0, 2)) / z, p[k - 1], 12);
        }
        Assert.Equal(1, p.Sum(), 12);
    }

    [Fact]
    public void Sample_Frequencies_MatchTheFormula()
    {
        // Arrange
        var nested = new NestedDropout(32, sigma: 6);
        var random = new Random(1);
        var counts = new int[33];
        const int draws = 200_000;

        // Act
        for (int i = 0; i < draws; i++)
        {
            counts[nested.Sample(random)]++;
        }

        // Assert: every k within 4 standard errors of its probability, and k = 0 never drawn.
        Assert.Equal(0, counts[0]);
        for (int k = 1; k <= 32; k++)
        {
            double p = nested.Probabilities[k - 1];
            double tolerance = 4 * Math.Sqrt(p * (1 - p) / draws) + 1e-6;
            Assert.InRange((double)counts[k] / draws, p - tolerance, p + tolerance);
        }
    }

    [Fact]
    public void BestK_PrefersHighestScore_TiesGoToSmallerK()
    {
        Assert.Equal(3, NestedDropout.BestK([0.1, 0.5, 0.7, 0.7, 0.6]));
        Assert.Equal(1, NestedDropout.BestK([0.9, 0.9]));
    }

    [Fact]
    public void SelectBestK_AgreesWithEvaluatingEveryTruncationOneByOne()
    {
        // Arrange
        using var scope = NewDisposeScope();
        torch.manual_seed(21);
        var (data, _) = Builders.Blobs(train: 200, test: 1, dims: 10, classes: 3);
        using var net = ClassifierNetwork.Create(new ModelSpec { Hidden = [12] }, [10], 3);
        Tensor x = Builders.Tensor(data);
        Tensor y = tensor(data.Labels.Select(l => (long)l).ToArray());

        // Act
        var (k, accuracy) = Evaluation.SelectBestK(net, x, y);

        // Assert
        double[] scores = Enumerable.Range(1, 12).Select(kk =>
        {
            net.FeatureTruncation = kk;
            return Evaluation.Accuracy(net, x, y);
        }).ToArray();
        Assert.Equal(NestedDropout.BestK(scores), k);
        Assert.Equal(scores.Max(), accuracy, 12);
    }

    [Fact]
    public void Run_NestedThenCoTeachingRecipe_NumbersEpochsAcrossStagesAndFixesBestK()
    {
        // Arrange: Chen et al. 2021's recipe: nested dropout for 3 epochs, then co-teaching fine-tuning for 2 epochs.
        var (train, test) = Builders.Blobs(train: 1500, test: 300);
        JobSpec spec = Builders.Spec(epochs: 2) with
        {
            Model = new ModelSpec { Hidden = [32, 16], LowRank = false },
            Noise = new NoiseSpec { Kind = NoiseKinds.Pair, Rate = 0.2 },
            NestedDropout = new NestedDropoutSpec { Sigma = 6, StageEpochs = 3 },
            CoTeaching = new CoTeachingSpec { GradualEpochs = 2 },
        };
        var observer = new Builders.RecordingObserver();

        // Act
        TrainingOutcome outcome = Builders.Engine().Run(new TrainingRequest(spec, train, test), observer, null, CancellationToken.None);

        // Assert
        Assert.Equal(["nested-dropout", "nested-dropout", "nested-dropout", "co-teaching", "co-teaching"], observer.Reports.Select(r => r.Stage));
        Assert.Equal([1, 2, 3, 4, 5], observer.Reports.Select(r => r.Epoch));
        Assert.All(observer.Reports, r => Assert.Equal(5, r.Epochs));
        Assert.All(observer.Reports, r => Assert.NotNull(r.LabelPrecision));
        double k = observer.Reports[2].Extra["bestK"];
        Assert.InRange(k, 1, 16);
        Assert.True(outcome.TestAccuracy > 0.8, $"accuracy {outcome.TestAccuracy}; " + string.Join(" | ", observer.Reports.Select(Builders.Metrics)));

        using var file = new MemoryStream();
        outcome.WriteModel(file);
        file.Position = 0;
        using var model = Engine.ModelFile.Read(file);
        Assert.Equal((int)k, model.FeatureTruncation);
    }
}

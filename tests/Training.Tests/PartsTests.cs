using TorchSharp;
using Training.Methods;
using Training.Modules;
using Training.Parts;
using Training.Parts.Losses;
using static TorchSharp.torch;

namespace Training.Tests;

/// <summary>The parts' math on hand-computed cases.</summary>
public class PartsTests
{
    private static (StepContext Step, LearnerStep Learner) Step(float[] logits, float[] sampled, long[] labels, float[]? weights)
    {
        int n = labels.Length;
        Tensor y = tensor(labels);
        Tensor z = tensor(logits, n, logits.Length / n);
        var learner = new LearnerStep(null!)
        {
            Logits = z,
            PerSampleLoss = nn.functional.cross_entropy(z, y, reduction: nn.Reduction.None),
            SampledLogits = tensor(sampled, n, sampled.Length / n),
            Weights = weights is null ? null : tensor(weights),
        };
        return (new StepContext(null!, zeros(n, 2), y, arange(n), [learner]), learner);
    }

    [Fact]
    public void CrossEntropyTerm_WithWeights_IsTheMeanOverSelectedSamples()
    {
        using var scope = NewDisposeScope();
        // Sample 0: logits (0, ln 3), label 1 → CE = −ln(3/4). Sample 1: (0, 0), label 0 → ln 2 (not selected).
        var (step, learner) = Step([0, (float)Math.Log(3), 0, 0], [0, 0, 0, 0], [1, 0], [1, 0]);

        double value = new CrossEntropyTerm(sampledPassOnly: false).Compute(learner, step)!.item<float>();

        Assert.Equal(-Math.Log(0.75), value, 5);
    }

    [Fact]
    public void SelfDistillationTerm_IsCrossEntropyAgainstTheFullPassSoftmax()
    {
        using var scope = NewDisposeScope();
        // Full pass (0, ln 3) → teacher (1/4, 3/4); sampled pass (0, 0) → log-probs (ln ½, ln ½): −Σ t·log p = ln 2.
        // Sample 2: full (0, 0) → (½, ½); sampled (ln 3, 0) → (3/4, 1/4): −½ ln ¾ − ½ ln ¼.
        var (step, learner) = Step([0, (float)Math.Log(3), 0, 0], [0, 0, (float)Math.Log(3), 0], [1, 0], null);

        double value = new SelfDistillationTerm().Compute(learner, step)!.item<float>();

        double expected = (Math.Log(2) + (-0.5 * Math.Log(0.75) - 0.5 * Math.Log(0.25))) / 2;
        Assert.Equal(expected, value, 5);
    }

    [Fact]
    public void SampledCrossEntropyTerm_UsesTheSampledPassOnHardLabels_AndCrossEntropySkipsThatLearner()
    {
        using var scope = NewDisposeScope();
        var (step, learner) = Step([5, -5], [0, (float)Math.Log(3)], [1], null);

        double value = new SampledCrossEntropyTerm().Compute(learner, step)!.item<float>();

        Assert.Equal(-Math.Log(0.75), value, 5);
        Assert.Null(new CrossEntropyTerm(sampledPassOnly: true).Compute(learner, step));
    }

    [Fact]
    public void Disagreement_WhenTheNetworksAgreeEverywhere_FallsBackToSmallLossOnTheBatch()
    {
        using var scope = NewDisposeScope();
        Tensor logits = tensor(new float[] { 1, 0, 1, 0, 0, 1, 0, 1 }, 4, 2);
        Tensor loss1 = tensor(new float[] { 0.4f, 0.1f, 0.3f, 0.2f });
        Tensor loss2 = tensor(new float[] { 0.1f, 0.2f, 0.3f, 0.4f });

        var (first, second) = CoTeaching.Disagreement(logits, logits, loss1, loss2, forgetRate: 0.5);
        var (smallFirst, smallSecond) = CoTeaching.SmallLoss(loss1, loss2, CoTeaching.Keep(4, 0.5));

        Assert.Equal(smallFirst.data<float>().ToArray(), first.data<float>().ToArray());
        Assert.Equal(smallSecond.data<float>().ToArray(), second.data<float>().ToArray());
        Assert.Equal([0f, 1, 0, 1], first.data<float>().ToArray());
    }

    [Fact]
    public void Disagreement_KeepsFloorOfOneMinusRTimesTheDisagreementCount_AtLeastOne()
    {
        using var scope = NewDisposeScope();
        // Disagree on samples 0, 1, 2 (3 of 5); R = 0.5 keeps ⌊1.5⌋ = 1 of them per network.
        Tensor logits1 = tensor(new float[] { 1, 0, 1, 0, 1, 0, 1, 0, 1, 0 }, 5, 2);
        Tensor logits2 = tensor(new float[] { 0, 1, 0, 1, 0, 1, 1, 0, 1, 0 }, 5, 2);
        Tensor loss = tensor(new float[] { 0.3f, 0.2f, 0.1f, 0.0f, 0.0f });

        var (first, _) = CoTeaching.Disagreement(logits1, logits2, loss, loss, forgetRate: 0.5);
        var (most, _) = CoTeaching.Disagreement(logits1, logits2, loss, loss, forgetRate: 0.9);

        Assert.Equal([0f, 0, 1, 0, 0], first.data<float>().ToArray());
        Assert.Equal(1f, most.sum().item<float>());
    }

    [Fact]
    public void CopyFromDense_FullRankEqualsTheDenseNetwork_AndTruncationEqualsPostHocSvd()
    {
        using var scope = NewDisposeScope();
        torch.manual_seed(5);
        using var dense = ClassifierNetwork.Create(new ModelSpec { Hidden = [12, 8], LowRank = false }, [10], 3);
        using var lowRank = ClassifierNetwork.Create(new ModelSpec { Hidden = [12, 8], LowRank = true }, [10], 3);
        Tensor x = randn(16, 10);

        lowRank.CopyFromDense(dense);

        using var svd = dense.ToFactorized();
        Assert.True(lowRank.call(x).allclose(dense.call(x), rtol: 1e-4, atol: 1e-5));
        lowRank.SetTruncation([3, 2]);
        svd.SetTruncation([3, 2]);
        Assert.True(lowRank.call(x).allclose(svd.call(x), rtol: 1e-4, atol: 1e-5));
    }

    [Fact]
    public void BestValidationSelection_ShipsTheEpochWithTheHighestValidationAccuracy()
    {
        // Arrange: pair noise makes standard training memorise; selection must ship the best-scoring epoch.
        var (train, test) = Builders.Blobs(train: 600, test: 200, spread: 0.15);
        JobSpec spec = Builders.Spec(epochs: 6) with
        {
            Model = new ModelSpec { Hidden = [32, 16], LowRank = false },
            Noise = new NoiseSpec { Kind = NoiseKinds.Pair, Rate = 0.4 },
            Training = new TrainingSpec { Epochs = 6, BatchSize = 32, LearningRate = 3e-3, ModelSelection = ModelSelections.BestValidation, ValidationFraction = 0.2 },
        };
        var observer = new Builders.RecordingObserver();

        // Act
        TrainingOutcome outcome = Builders.Engine().Run(new TrainingRequest(spec, train, test), observer, null, CancellationToken.None);

        // Assert
        double[] validation = observer.Reports.Select(r => r.Extra["validationAccuracy"]).ToArray();
        int best = Array.IndexOf(validation, validation.Max()) + 1;
        Assert.Equal(best, outcome.ShippedEpoch);
        Assert.Equal(validation.Max(), outcome.ValidationAccuracy!.Value, 12);
        Assert.Equal(ModelSelections.BestValidation, outcome.ModelSelection);
        Assert.Equal(observer.Reports[best - 1].TestAccuracy, outcome.TestAccuracy, 12);
        Assert.Equal(best, observer.Reports[^1].Extra["selectedEpoch"]);
    }

    [Fact]
    public void DenseWarmup_StartsTheOrderedModelOnTheWarmedUpNetworksSvd()
    {
        // Arrange: one warm-up epoch then one Maestro epoch; the first report is the dense network.
        var (train, test) = Builders.Blobs(train: 400, test: 100);
        JobSpec spec = Builders.Spec(epochs: 2) with { Maestro = new MaestroSpec { DenseWarmupEpochs = 1 } };
        var observer = new Builders.RecordingObserver();

        // Act
        Builders.Engine().Run(new TrainingRequest(spec, train, test), observer, null, CancellationToken.None);

        // Assert
        Assert.Equal(["dense-warmup", "maestro"], observer.Reports.Select(r => r.Stage));
        Assert.DoesNotContain("rank0", observer.Reports[0].Extra.Keys);
        Assert.True(observer.Reports[1].TestAccuracy >= observer.Reports[0].TestAccuracy - 0.05, "the hand-off keeps what the warm-up learnt");
    }

    [Fact]
    public void MethodComposer_AddsOnePartPerRegisteredSection()
    {
        var (train, test) = Builders.Blobs(train: 100, test: 20);
        JobSpec spec = Builders.Spec(epochs: 2) with
        {
            Noise = new NoiseSpec { Kind = NoiseKinds.Symmetric, Rate = 0.2 },
            CoTeaching = new CoTeachingSpec { Plus = true },
            Maestro = new MaestroSpec { GroupLasso = 1e-3 },
        };
        using var state = new SessionState(new TrainingRequest(spec, train, test), StagePlan.From(spec), CPU);

        string[] names = MethodComposer.Compose(state).Select(p => p.Name).ToArray();

        Assert.Equal(
            ["OrderedDropoutPass", "CoTeachingPlusSelector", "AllSamples", "CrossEntropyTerm", "SelfDistillationTerm", "GroupLassoTerm", "ProgressiveShrinking", "BestValidationSelection"],
            names);
    }
}

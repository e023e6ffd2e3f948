using TorchSharp;
using Training.Methods;
using Training.Modules;
using Training.Parts;
using Training.Parts.Losses;
using Training.Parts.Transforms;
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

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void BestValidationSelection_CoTeaching_ShipsOneOfTheTwoNetworksOfTheSelectedEpoch(bool lowRank)
    {
        // Arrange: either peer may score best on the validation split; the shipped model is that network at that epoch.
        var (train, test) = Builders.Blobs(train: 600, test: 200, spread: 0.2);
        JobSpec spec = Builders.Spec(epochs: 4) with
        {
            Model = new ModelSpec { Hidden = [32, 16], LowRank = lowRank },
            Noise = new NoiseSpec { Kind = NoiseKinds.Pair, Rate = 0.4 },
            CoTeaching = new CoTeachingSpec { GradualEpochs = 2 },
        };
        var observer = new Builders.RecordingObserver();

        // Act
        TrainingOutcome outcome = Builders.Engine().Run(new TrainingRequest(spec, train, test), observer, null, CancellationToken.None);

        // Assert
        EpochReport shipped = observer.Reports[outcome.ShippedEpoch - 1];
        double[] candidates = [shipped.TestAccuracy, shipped.Extra["testAccuracy2"]];
        Assert.Contains(candidates, c => Math.Abs(c - outcome.TestAccuracy) < 1e-12);
        double[] validation = [shipped.Extra["validationAccuracy"], shipped.Extra["validationAccuracy2"]];
        Assert.Equal(validation.Max(), outcome.ValidationAccuracy!.Value, 12);
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
    public void MultiSampleDropout_FixedMasks_IsTheMeanOfTheKCrossEntropies()
    {
        using var scope = NewDisposeScope();
        // One sample with features (0, ln 3), an identity head, label 1. Mask 1 keeps both features → logits
        // (0, ln 3), CE = −ln ¾; mask 2 drops the second and doubles the first → (0, 0), CE = ln 2.
        Tensor features = tensor(new float[] { 0, (float)Math.Log(3) }, 1, 2);
        Tensor masks = tensor(new float[] { 1, 1, 2, 0 }, 2, 1, 2);

        var (logits, perSample) = MultiSampleDropout.KSample(features, masks, f => f, tensor(new long[] { 1 }));

        Assert.Equal((-Math.Log(0.75) + Math.Log(2)) / 2, perSample.item<float>(), 5);
        Assert.Equal([0f, (float)Math.Log(3) / 2], logits.data<float>().ToArray());
    }

    [Fact]
    public void MultiSampleDropout_RateZero_ReducesToCrossEntropyOfTheFullPass()
    {
        using var scope = NewDisposeScope();
        torch.manual_seed(3);
        using var net = ClassifierNetwork.Create(new ModelSpec { Hidden = [12, 8], LowRank = true }, [10], 3);
        Tensor x = randn(6, 10);
        Tensor y = tensor(new long[] { 0, 1, 2, 0, 1, 2 });
        Tensor features = net.MaskedFeatures(x);
        Tensor masks = MultiSampleDropout.Masks(8, 6, net.FeatureCount, 0, CPU);

        var (logits, perSample) = MultiSampleDropout.KSample(features, masks, net.Head, y);

        Assert.True(logits.allclose(net.call(x), rtol: 1e-5, atol: 1e-6));
        Assert.True(perSample.allclose(nn.functional.cross_entropy(net.call(x), y, reduction: nn.Reduction.None), rtol: 1e-5, atol: 1e-6));
    }

    [Fact]
    public void MultiSampleDropout_Masks_AreInvertedDropoutAtTheRate()
    {
        using var scope = NewDisposeScope();
        torch.manual_seed(4);

        Tensor masks = MultiSampleDropout.Masks(8, 100, 50, 0.5, CPU);

        Assert.Equal([8L, 100, 50], masks.shape);
        Assert.True(masks.eq(0).logical_or(masks.eq(2)).all().item<bool>());
        Assert.InRange(masks.eq(0).to(float32).mean().item<float>(), 0.47, 0.53);
    }

    [Fact]
    public void EarlyLearningRegularization_TwoSamplesThreeClasses_UpdatesTheTargetsAndMatchesTheHandComputedTerm()
    {
        using var scope = NewDisposeScope();
        // Targets of 3 examples; the batch holds examples 2 and 0. β = ½, λ = 2.
        Tensor targets = tensor(new float[] { 0, 0, 0, 0, 1, 0, 1, 0, 0 }, 3, 3);
        // Example 2: logits (0, 0, 0) → p = (⅓, ⅓, ⅓); t = ½(1, 0, 0) + ½p = (⅔, ⅙, ⅙); ⟨t, p⟩ = ⅓.
        // Example 0: logits (ln 2, 0, 0) → p = (½, ¼, ¼); t = ½p = (¼, ⅛, ⅛); ⟨t, p⟩ = ⅛ + 1/32 + 1/32 = 3/16.
        Tensor logits = tensor(new float[] { 0, 0, 0, (float)Math.Log(2), 0, 0 }, 2, 3);
        Tensor indices = tensor(new long[] { 2, 0 });

        double value = EarlyLearningRegularization.Term(logits, targets, indices, null, beta: 0.5, lambda: 2).item<float>();

        Assert.Equal(2 * (Math.Log(2.0 / 3) + Math.Log(13.0 / 16)) / 2, value, 5);
        float[] expected = [0.25f, 0.125f, 0.125f, 0, 1, 0, 2f / 3, 1f / 6, 1f / 6];
        Assert.True(targets.allclose(tensor(expected, 3, 3), atol: 1e-6));
    }

    [Fact]
    public void EarlyLearningRegularization_WithWeights_AveragesOverTheSelectedSamples_AndStillUpdatesEveryTarget()
    {
        using var scope = NewDisposeScope();
        Tensor targets = tensor(new float[] { 0, 0, 0, 0, 1, 0, 1, 0, 0 }, 3, 3);
        Tensor logits = tensor(new float[] { 0, 0, 0, (float)Math.Log(2), 0, 0 }, 2, 3, requires_grad: true);

        Tensor term = EarlyLearningRegularization.Term(logits, targets, tensor(new long[] { 2, 0 }), tensor(new float[] { 1, 0 }), beta: 0.5, lambda: 2);
        term.backward();

        Assert.Equal(2 * Math.Log(2.0 / 3), term.item<float>(), 5);
        Assert.Equal(0.25f, targets[0, 0].item<float>(), 6);
        Assert.Equal(0f, logits.grad!.select(0, 1).abs().sum().item<float>());
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
            MultiSampleDropout = new MultiSampleDropoutSpec(),
            Elr = new ElrSpec(),
            Subset = new SubsetSpec(),
        };
        using var state = new SessionState(new TrainingRequest(spec, train, test), StagePlan.From(spec), CPU);

        string[] names = MethodComposer.Compose(state).Select(p => p.Name).ToArray();

        Assert.Equal(
            [
                "OrderedDropoutPass", "MultiSampleDropout", "CoTeachingPlusSelector", "AllSamples", "CrossEntropyTerm", "SelfDistillationTerm",
                "GroupLassoTerm", "EarlyLearningRegularization", "InformativeSubset", "ProgressiveShrinking", "BestValidationSelection",
            ],
            names);
    }
}

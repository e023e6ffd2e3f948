namespace Training.Tests;

/// <summary>Every method's parts keep exact resume: a run restarted from any epoch's checkpoint reproduces the rest.</summary>
public class ResumeTests
{
    public static TheoryData<string> Methods => new(Specs.Keys);

    private static readonly Dictionary<string, JobSpec> Specs = new()
    {
        ["maestro-layer-rank-lasso"] = Builders.Spec(epochs: 3) with { Maestro = new MaestroSpec { GroupLasso = 1e-3 } },
        ["maestro-hard-labels"] = Builders.Spec(epochs: 3) with { Maestro = new MaestroSpec { SelfDistillation = false } },
        ["maestro-warmup-svd-baseline"] = Builders.Spec(epochs: 3) with
        {
            Maestro = new MaestroSpec { DenseWarmupEpochs = 1, Sampling = MaestroSampling.UniformFraction },
            Sweep = new SweepSpec { RankFractions = [0.25, 1.0], SvdBaseline = true },
        },
        ["coteaching-best-validation"] = Noisy(Builders.Spec(epochs: 3)) with { CoTeaching = new CoTeachingSpec { GradualEpochs = 2 } },
        ["coteaching-plus-low-rank"] = Noisy(Builders.Spec(epochs: 3)) with { CoTeaching = new CoTeachingSpec { GradualEpochs = 2, Plus = true, PlusStartEpoch = 1 } },
        ["nested-only"] = Noisy(Builders.Spec(epochs: 3)) with { Model = new ModelSpec { Hidden = [24, 12], LowRank = false }, NestedDropout = new NestedDropoutSpec { Sigma = 4 } },
        ["nested-then-coteaching"] = Noisy(Builders.Spec(epochs: 2)) with
        {
            Model = new ModelSpec { Hidden = [24, 12], LowRank = false },
            NestedDropout = new NestedDropoutSpec { Sigma = 4, StageEpochs = 2 },
            CoTeaching = new CoTeachingSpec { GradualEpochs = 1 },
        },
        ["msd-dense"] = Builders.Spec(epochs: 3) with { Model = new ModelSpec { Hidden = [24, 12], LowRank = false }, MultiSampleDropout = new MultiSampleDropoutSpec { Samples = 4 } },
        ["msd-maestro"] = Builders.Spec(epochs: 3) with { MultiSampleDropout = new MultiSampleDropoutSpec { Samples = 3, Rate = 0.3 } },
        ["coteaching-msd-low-rank"] = Noisy(Builders.Spec(epochs: 3)) with { CoTeaching = new CoTeachingSpec { GradualEpochs = 2 }, MultiSampleDropout = new MultiSampleDropoutSpec() },
        ["elr-dense"] = Noisy(Builders.Spec(epochs: 3)) with { Model = new ModelSpec { Hidden = [24, 12], LowRank = false }, Elr = new ElrSpec() },
        ["elr-maestro"] = Noisy(Builders.Spec(epochs: 3)) with { Elr = new ElrSpec { Lambda = 1, Beta = 0.9 } },
        ["compander-dense"] = Builders.Spec(epochs: 3) with { Model = new ModelSpec { Hidden = [24, 12], LowRank = false }, Compander = new CompanderSpec() },
        ["coteaching-compander-low-rank"] = Noisy(Builders.Spec(epochs: 3)) with { CoTeaching = new CoTeachingSpec { GradualEpochs = 2 }, Compander = new CompanderSpec { Gain = 3 } },
        ["coteaching-compander-dense-fixed"] = Noisy(Builders.Spec(epochs: 3)) with
        {
            Model = new ModelSpec { Hidden = [24, 12], LowRank = false },
            CoTeaching = new CoTeachingSpec { GradualEpochs = 2 },
            Compander = new CompanderSpec { Learnable = false },
        },
        ["coteaching-elr"] = Noisy(Builders.Spec(epochs: 3)) with { CoTeaching = new CoTeachingSpec { GradualEpochs = 2 }, Elr = new ElrSpec() },
        ["subset-dense"] = Builders.Spec(epochs: 4) with
        {
            Model = new ModelSpec { Hidden = [24, 12], LowRank = false },
            Subset = new SubsetSpec { Fraction = 0.3, Partitions = 3, ReselectEvery = 2 },
        },
        ["subset-random-maestro"] = Builders.Spec(epochs: 3) with { Subset = new SubsetSpec { Fraction = 0.5, ReselectEvery = 1, Mode = SubsetModes.Random } },
        ["coteaching-subset-low-rank"] = Noisy(Builders.Spec(epochs: 4)) with
        {
            CoTeaching = new CoTeachingSpec { GradualEpochs = 2 },
            Subset = new SubsetSpec { Fraction = 0.4, Partitions = 2, ReselectEvery = 2 },
        },
    };

    private static JobSpec Noisy(JobSpec spec) => spec with { Noise = new NoiseSpec { Kind = NoiseKinds.Symmetric, Rate = 0.3 } };

    [Theory]
    [MemberData(nameof(Methods))]
    public void Run_ResumedFromEveryEpoch_ReproducesTheRestExactly(string method)
    {
        // Arrange
        var (train, test) = Builders.Blobs(train: 400, test: 100);
        var request = new TrainingRequest(Specs[method], train, test);
        var full = new Builders.RecordingObserver();
        TrainingOutcome expected = Builders.Engine().Run(request, full, null, CancellationToken.None);

        for (int done = 1; done < full.Reports.Count; done++)
        {
            // Act
            var resumed = new Builders.RecordingObserver();
            using var checkpoint = new MemoryStream(full.Checkpoints[done - 1]);
            TrainingOutcome actual = Builders.Engine().Run(request, resumed, checkpoint, CancellationToken.None);

            // Assert
            Assert.Equal(full.Reports.Skip(done).Select(Builders.Metrics), resumed.Reports.Select(Builders.Metrics));
            Assert.Equal(expected.TestAccuracy, actual.TestAccuracy);
            Assert.Equal(expected.ShippedEpoch, actual.ShippedEpoch);
            Assert.Equal(expected.Curve.Select(p => (p.Accuracy, p.SvdAccuracy)), actual.Curve.Select(p => (p.Accuracy, p.SvdAccuracy)));
        }
    }

    [Fact]
    public void Run_EveryStageMix_ReportsThePlansTotalAndStages()
    {
        var (train, test) = Builders.Blobs(train: 200, test: 50);
        foreach (var (method, spec) in Specs)
        {
            // Act
            var observer = new Builders.RecordingObserver();
            Builders.Engine().Run(new TrainingRequest(spec, train, test), observer, null, CancellationToken.None);

            // Assert: the engine walks exactly the Domain's plan, which the Api and the Worker also use.
            StagePlan plan = StagePlan.From(spec);
            Assert.All(observer.Reports, r => Assert.Equal(plan.TotalEpochs, r.Epochs));
            Assert.Equal(Enumerable.Range(0, plan.TotalEpochs).Select(e => plan.StageAt(e).Name), observer.Reports.Select(r => r.Stage));
        }
    }
}

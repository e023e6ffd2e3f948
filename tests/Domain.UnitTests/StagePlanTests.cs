using Domain.Jobs;

namespace Domain.UnitTests;

public class StagePlanTests
{
    private const int Epochs = 6;

    private static JobSpec Spec(
        bool lowRank = true, MaestroSpec? maestro = null, NestedDropoutSpec? nested = null, CoTeachingSpec? coTeaching = null, bool svdBaseline = false) => new()
    {
        DatasetId = Guid.NewGuid(),
        Model = new ModelSpec { Hidden = [32, 16], LowRank = lowRank },
        Training = new TrainingSpec { Epochs = Epochs },
        Maestro = maestro,
        NestedDropout = nested,
        CoTeaching = coTeaching is null ? null : coTeaching with { ForgetRate = 0.4 },
        Sweep = new SweepSpec { SvdBaseline = svdBaseline },
    };

    private static (StageKind, string, int, int)[] Stages(JobSpec spec) =>
        StagePlan.From(spec).Stages.Select(s => (s.Kind, s.Name, s.Epochs, s.FirstEpoch)).ToArray();

    public static TheoryData<bool> WithAndWithoutBaseline => new() { false, true };

    /// <summary>The dense-baseline stage every low-rank plan with svdBaseline ends with: E epochs after <paramref name="first"/>.</summary>
    private static (StageKind, string, int, int)[] Baseline(bool svdBaseline, int first) =>
        svdBaseline ? [(StageKind.DenseBaseline, "dense-baseline", Epochs, first)] : [];

    [Theory]
    [MemberData(nameof(WithAndWithoutBaseline))]
    public void From_MaestroWithoutWarmup_TrainsOneMaestroStage(bool svdBaseline)
    {
        JobSpec spec = Spec(maestro: new MaestroSpec { DenseWarmupEpochs = 0 }, svdBaseline: svdBaseline);

        Assert.Equal([(StageKind.Train, "maestro", Epochs, 0), .. Baseline(svdBaseline, Epochs)], Stages(spec));
        Assert.Equal(svdBaseline ? 2 * Epochs : Epochs, StagePlan.From(spec).TotalEpochs);
    }

    [Theory]
    [MemberData(nameof(WithAndWithoutBaseline))]
    public void From_LowRankWithoutOrderedDropout_TrainsStandard(bool svdBaseline)
    {
        JobSpec spec = Spec(maestro: new MaestroSpec { OrderedDropout = false }, svdBaseline: svdBaseline);

        Assert.Equal([(StageKind.Train, "standard", Epochs, 0), .. Baseline(svdBaseline, Epochs)], Stages(spec));
    }

    [Theory]
    [MemberData(nameof(WithAndWithoutBaseline))]
    public void From_DenseModel_TrainsStandardAndNeverAddsTheBaseline(bool svdBaseline)
    {
        JobSpec spec = Spec(lowRank: false, svdBaseline: svdBaseline);

        Assert.Equal([(StageKind.Train, "standard", Epochs, 0)], Stages(spec));
        Assert.Equal(Epochs, StagePlan.From(spec).TotalEpochs);
    }

    [Theory]
    [MemberData(nameof(WithAndWithoutBaseline))]
    public void From_MaestroWithDenseWarmup_SplitsTheEpochsAndTheBaselineMatchesTheWholeRecipe(bool svdBaseline)
    {
        JobSpec spec = Spec(maestro: new MaestroSpec { DenseWarmupEpochs = 2 }, svdBaseline: svdBaseline);

        Assert.Equal(
            [(StageKind.DenseWarmup, "dense-warmup", 2, 0), (StageKind.Train, "maestro", Epochs - 2, 2), .. Baseline(svdBaseline, Epochs)],
            Stages(spec));
        Assert.Equal(svdBaseline ? 2 * Epochs : Epochs, StagePlan.From(spec).TotalEpochs);
    }

    [Fact]
    public void From_MaestroWithoutWarmupGiven_WarmsUpForTheDefault()
    {
        JobSpec spec = Spec(svdBaseline: true);
        int warmup = MaestroSpec.DefaultDenseWarmupEpochs(Epochs);

        (StageKind, string, int, int)[] expected = warmup > 0
            ? [(StageKind.DenseWarmup, "dense-warmup", warmup, 0), (StageKind.Train, "maestro", Epochs - warmup, warmup), .. Baseline(true, Epochs)]
            : [(StageKind.Train, "maestro", Epochs, 0), .. Baseline(true, Epochs)];
        Assert.Equal(expected, Stages(spec));
        Assert.Equal(2 * Epochs, StagePlan.From(spec).TotalEpochs);
    }

    [Fact]
    public void From_MaestroWithZeroDenseWarmup_HasNoWarmupStage()
    {
        JobSpec spec = Spec(maestro: new MaestroSpec { DenseWarmupEpochs = 0 });

        Assert.Equal([(StageKind.Train, "maestro", Epochs, 0)], Stages(spec));
    }

    [Theory]
    [MemberData(nameof(WithAndWithoutBaseline))]
    public void From_NestedOnly_TrainsTheNestedStageForAllEpochsAndIgnoresStageEpochs(bool svdBaseline)
    {
        JobSpec spec = Spec(nested: new NestedDropoutSpec { StageEpochs = 2 }, svdBaseline: svdBaseline);

        Assert.Equal([(StageKind.Nested, "nested-dropout", Epochs, 0), .. Baseline(svdBaseline, Epochs)], Stages(spec));
    }

    [Theory]
    [MemberData(nameof(WithAndWithoutBaseline))]
    public void From_NestedThenCoTeachingWithStageEpochs_RunsStageEpochsThenEpochs(bool svdBaseline)
    {
        JobSpec spec = Spec(nested: new NestedDropoutSpec { StageEpochs = 2 }, coTeaching: new CoTeachingSpec(), svdBaseline: svdBaseline);

        Assert.Equal(
            [(StageKind.Nested, "nested-dropout", 2, 0), (StageKind.CoTeaching, "co-teaching", Epochs, 2), .. Baseline(svdBaseline, 2 + Epochs)],
            Stages(spec));
        Assert.Equal(2 + Epochs + (svdBaseline ? Epochs : 0), StagePlan.From(spec).TotalEpochs);
    }

    [Theory]
    [MemberData(nameof(WithAndWithoutBaseline))]
    public void From_NestedThenCoTeachingWithoutStageEpochs_RunsEpochsTwice(bool svdBaseline)
    {
        JobSpec spec = Spec(nested: new NestedDropoutSpec(), coTeaching: new CoTeachingSpec(), svdBaseline: svdBaseline);

        Assert.Equal(
            [(StageKind.Nested, "nested-dropout", Epochs, 0), (StageKind.CoTeaching, "co-teaching", Epochs, Epochs), .. Baseline(svdBaseline, 2 * Epochs)],
            Stages(spec));
    }

    [Theory]
    [MemberData(nameof(WithAndWithoutBaseline))]
    public void From_CoTeaching_TrainsOneCoTeachingStage(bool svdBaseline)
    {
        JobSpec spec = Spec(coTeaching: new CoTeachingSpec(), svdBaseline: svdBaseline);

        Assert.Equal([(StageKind.CoTeaching, "co-teaching", Epochs, 0), .. Baseline(svdBaseline, Epochs)], Stages(spec));
    }

    [Theory]
    [MemberData(nameof(WithAndWithoutBaseline))]
    public void From_CoTeachingPlus_NamesTheStageCoTeachingPlus(bool svdBaseline)
    {
        JobSpec spec = Spec(coTeaching: new CoTeachingSpec { Plus = true }, svdBaseline: svdBaseline);

        Assert.Equal([(StageKind.CoTeaching, "co-teaching-plus", Epochs, 0), .. Baseline(svdBaseline, Epochs)], Stages(spec));
    }

    [Fact]
    public void From_DenseWarmupOnCoTeaching_IsIgnored()
    {
        // Invalid when submitted (validation names maestro.denseWarmupEpochs); the plan still never warms up here.
        JobSpec spec = Spec(maestro: new MaestroSpec { DenseWarmupEpochs = 2 }, coTeaching: new CoTeachingSpec());

        Assert.Equal([(StageKind.CoTeaching, "co-teaching", Epochs, 0)], Stages(spec));
    }

    [Fact]
    public void From_SameSpec_GivesEqualPlans()
    {
        JobSpec spec = Spec(maestro: new MaestroSpec { DenseWarmupEpochs = 1 }, svdBaseline: true);

        Assert.Equal(StagePlan.From(spec), StagePlan.From(spec));
        Assert.Equal(StagePlan.From(spec).GetHashCode(), StagePlan.From(spec).GetHashCode());
    }

    [Fact]
    public void From_NormalizedSpec_PlansTheSame()
    {
        JobSpec spec = Spec(nested: new NestedDropoutSpec { StageEpochs = 3 }, coTeaching: new CoTeachingSpec(), svdBaseline: true);

        Assert.Equal(StagePlan.From(spec), StagePlan.From(spec.Normalized()));
    }

    [Theory]
    [InlineData(0, "dense-warmup")]
    [InlineData(1, "dense-warmup")]
    [InlineData(2, "maestro")]
    [InlineData(5, "maestro")]
    [InlineData(6, "dense-baseline")]
    [InlineData(11, "dense-baseline")]
    public void StageAt_EpochIndex_ReturnsTheStageThatTrainsIt(int epochIndex, string stage)
    {
        StagePlan plan = StagePlan.From(Spec(maestro: new MaestroSpec { DenseWarmupEpochs = 2 }, svdBaseline: true));

        Assert.Equal(stage, plan.StageAt(epochIndex).Name);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(12)]
    public void StageAt_OutsideThePlan_Throws(int epochIndex)
    {
        StagePlan plan = StagePlan.From(Spec(maestro: new MaestroSpec { DenseWarmupEpochs = 2 }, svdBaseline: true));

        Assert.Throws<ArgumentOutOfRangeException>(() => plan.StageAt(epochIndex));
    }

    [Fact]
    public void StageAt_EveryEpoch_WalksTheStagesInOrder()
    {
        StagePlan plan = StagePlan.From(Spec(nested: new NestedDropoutSpec { StageEpochs = 2 }, coTeaching: new CoTeachingSpec(), svdBaseline: true));

        string[] names = Enumerable.Range(0, plan.TotalEpochs).Select(i => plan.StageAt(i).Name).ToArray();

        Assert.Equal(
            [.. Enumerable.Repeat("nested-dropout", 2), .. Enumerable.Repeat("co-teaching", Epochs), .. Enumerable.Repeat("dense-baseline", Epochs)],
            names);
    }
}

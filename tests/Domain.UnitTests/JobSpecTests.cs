using Domain.Common;
using Domain.Jobs;

namespace Domain.UnitTests;

public class JobSpecTests
{
    private static readonly int[] s_mnistShape = [28, 28];

    private static JobSpec Valid() => new()
    {
        DatasetId = Guid.NewGuid(),
        Model = new ModelSpec { Kind = "mlp", Hidden = [256, 128], MaxRank = 64 },
        Training = new TrainingSpec { Epochs = 5, BatchSize = 128, LearningRate = 1e-3, Seed = 1 },
    };

    [Fact]
    public void Validate_ContractExample_HasNoErrors()
    {
        Assert.Empty(Valid().Validate(s_mnistShape, 10));
    }

    [Fact]
    public void Validate_SeveralBadFields_ReportsEveryViolationAtOnce()
    {
        JobSpec spec = Valid() with
        {
            DatasetId = Guid.Empty,
            Training = new TrainingSpec { Epochs = -1, BatchSize = 0, LearningRate = double.NaN, Optimizer = "lbfgs" },
        };

        IReadOnlyList<ValidationError> errors = spec.Validate(s_mnistShape, 10);

        Assert.Equal(
            ["datasetId", "training.batchSize", "training.epochs", "training.learningRate", "training.optimizer"],
            errors.Select(e => e.Field).Order().ToArray());
    }

    [Fact]
    public void Validate_MaxRankAboveEveryLayer_NamesMaxRankWithTheBound()
    {
        JobSpec spec = Valid() with { Model = new ModelSpec { Hidden = [32, 16], MaxRank = 33 } };

        ValidationError error = Assert.Single(spec.Validate(s_mnistShape, 10));

        Assert.Equal("model.maxRank", error.Field);
        Assert.Contains("32", error.Message);
    }

    [Fact]
    public void Validate_MaxRankAtLargestLayerRank_IsAccepted()
    {
        JobSpec spec = Valid() with { Model = new ModelSpec { Hidden = [32, 16], MaxRank = 32 } };

        Assert.Empty(spec.Validate(s_mnistShape, 10));
    }

    [Fact]
    public void Validate_CoTeachingWithoutForgetRateOrNoise_RequiresForgetRate()
    {
        JobSpec spec = Valid() with { CoTeaching = new CoTeachingSpec() };

        Assert.Equal("coTeaching.forgetRate", Assert.Single(spec.Validate(s_mnistShape, 10)).Field);
    }

    [Fact]
    public void Validate_CoTeachingWithKnownNoise_UsesNoiseRateAsForgetRate()
    {
        JobSpec spec = Valid() with { CoTeaching = new CoTeachingSpec(), Noise = new NoiseSpec { Kind = "symmetric", Rate = 0.4 } };

        Assert.Empty(spec.Validate(s_mnistShape, 10));
        Assert.Equal(0.4, spec.CoTeaching!.EffectiveForgetRate(spec.Noise));
    }

    [Fact]
    public void Validate_CnnOnTabularData_IsRejected()
    {
        JobSpec spec = Valid() with { Model = new ModelSpec { Kind = "cnn", Hidden = [64] } };

        Assert.Equal("model.kind", Assert.Single(spec.Validate([20], 3)).Field);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(1.5)]
    public void Validate_RankFractionOutsideUnitInterval_IsRejected(double fraction)
    {
        JobSpec spec = Valid() with { Sweep = new SweepSpec { RankFractions = [fraction, 1.0] } };

        Assert.Equal("sweep.rankFractions[0]", Assert.Single(spec.Validate(s_mnistShape, 10)).Field);
    }

    [Fact]
    public void Normalized_FillsMethodDefaults()
    {
        JobSpec normalized = Valid().Normalized();

        Assert.NotNull(normalized.Maestro);
        Assert.Equal(SweepSpec.DefaultFractions, normalized.Sweep!.RankFractions);
    }
}

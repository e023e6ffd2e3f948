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

    [Fact]
    public void Normalized_CleanLabels_WritesLastSelectionNoSplitAndTheDefaultWarmup()
    {
        JobSpec normalized = Valid().Normalized();

        Assert.Equal(ModelSelections.Last, normalized.Training.ModelSelection);
        Assert.Null(normalized.Training.ValidationFraction);
        Assert.Equal(0, normalized.EffectiveValidationFraction);
        Assert.Equal(MaestroSpec.DefaultDenseWarmupEpochs(5), normalized.Maestro!.DenseWarmupEpochs);
    }

    [Fact]
    public void Normalized_NoisyLabels_WritesBestValidationAndTheDefaultSplit()
    {
        JobSpec normalized = (Valid() with { Noise = new NoiseSpec { Kind = "pair", Rate = 0.45 } }).Normalized();

        Assert.Equal(ModelSelections.BestValidation, normalized.Training.ModelSelection);
        Assert.Equal(TrainingSpec.DefaultValidationFraction, normalized.Training.ValidationFraction);
    }

    [Fact]
    public void Normalized_NestedDropout_KeepsTheSplitInItsOwnSection()
    {
        JobSpec normalized = (Valid() with { NestedDropout = new NestedDropoutSpec { ValidationFraction = 0.2 } }).Normalized();

        Assert.Equal(ModelSelections.BestValidation, normalized.Training.ModelSelection);
        Assert.Null(normalized.Training.ValidationFraction);
        Assert.Equal(0.2, normalized.EffectiveValidationFraction);
        Assert.Equal(0, normalized.Maestro!.DenseWarmupEpochs);
    }

    [Fact]
    public void Normalized_ExplicitValues_AreKept()
    {
        JobSpec spec = Valid() with
        {
            Training = Valid().Training with { Epochs = 10, ModelSelection = ModelSelections.Last, ValidationFraction = 0.25 },
            Maestro = new MaestroSpec { DenseWarmupEpochs = 3 },
            CoTeaching = null,
        };

        JobSpec normalized = spec.Normalized();

        Assert.Equal(ModelSelections.Last, normalized.Training.ModelSelection);
        Assert.Equal(0.25, normalized.Training.ValidationFraction);
        Assert.Equal(3, normalized.Maestro!.DenseWarmupEpochs);
        Assert.Equal(3, normalized.EffectiveDenseWarmupEpochs);
    }

    [Theory]
    [MemberData(nameof(MethodMixes))]
    public void Normalized_EveryMethodMix_IsValidIdempotentAndKeepsTheEffectiveValues(JobSpec spec)
    {
        JobSpec normalized = spec.Normalized();

        Assert.Empty(normalized.Validate(s_mnistShape, 10));
        Assert.Equal(normalized.ToJson(), normalized.Normalized().ToJson());
        Assert.Equal(spec.EffectiveModelSelection, normalized.EffectiveModelSelection);
        Assert.Equal(spec.EffectiveValidationFraction, normalized.EffectiveValidationFraction);
        Assert.Equal(spec.EffectiveDenseWarmupEpochs, normalized.EffectiveDenseWarmupEpochs);
    }

    public static TheoryData<JobSpec> MethodMixes => new()
    {
        Valid(),
        Valid() with { Model = Valid().Model with { LowRank = false, MaxRank = null } },
        Valid() with { Maestro = new MaestroSpec { DenseWarmupEpochs = 2 } },
        Valid() with { Noise = new NoiseSpec { Rate = 0.2 } },
        Valid() with { CoTeaching = new CoTeachingSpec { ForgetRate = 0.3 } },
        Valid() with { NestedDropout = new NestedDropoutSpec(), CoTeaching = new CoTeachingSpec { ForgetRate = 0.3, Plus = true } },
        Valid() with { Training = Valid().Training with { ModelSelection = ModelSelections.BestValidation } },
        Valid() with { Training = Valid().Training with { ValidationFraction = 0.3 }, Sweep = new SweepSpec { SvdBaseline = true } },
    };

    [Theory]
    [InlineData("mlp", true, true, 3, 3)]
    [InlineData("mlp", false, true, 3, 0)]
    [InlineData("mlp", true, false, 3, 0)]
    [InlineData("mlp", true, true, 0, 0)]
    public void EffectiveDenseWarmupEpochs_AppliesOnlyToMaestro(string kind, bool lowRank, bool orderedDropout, int? warmup, int expected)
    {
        JobSpec spec = Valid() with
        {
            Model = new ModelSpec { Kind = kind, Hidden = [32], LowRank = lowRank },
            Training = Valid().Training with { Epochs = 10 },
            Maestro = new MaestroSpec { OrderedDropout = orderedDropout, DenseWarmupEpochs = warmup },
        };

        Assert.Equal(expected, spec.EffectiveDenseWarmupEpochs);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    [InlineData(10)]
    [InlineData(1000)]
    public void EffectiveDenseWarmupEpochs_NotGiven_IsTheDefaultAndLeavesOrderedDropoutEpochs(int epochs)
    {
        JobSpec spec = Valid() with { Training = Valid().Training with { Epochs = epochs } };

        Assert.Equal(MaestroSpec.DefaultDenseWarmupEpochs(epochs), spec.EffectiveDenseWarmupEpochs);
        Assert.InRange(spec.EffectiveDenseWarmupEpochs, 0, epochs - 1);
        Assert.Empty(spec.Normalized().Validate(s_mnistShape, 10));
    }

    [Fact]
    public void EffectiveDenseWarmupEpochs_WithCoTeachingOrNestedDropout_IsZero()
    {
        var maestro = new MaestroSpec { DenseWarmupEpochs = 2 };

        Assert.Equal(0, (Valid() with { Maestro = maestro, CoTeaching = new CoTeachingSpec { ForgetRate = 0.2 } }).EffectiveDenseWarmupEpochs);
        Assert.Equal(0, (Valid() with { Maestro = maestro, NestedDropout = new NestedDropoutSpec() }).EffectiveDenseWarmupEpochs);
    }

    [Theory]
    [InlineData(false, false, false, null, "last")]
    [InlineData(true, false, false, null, "best-validation")]
    [InlineData(false, true, false, null, "best-validation")]
    [InlineData(false, false, true, null, "best-validation")]
    [InlineData(true, false, false, "last", "last")]
    [InlineData(false, false, false, "best-validation", "best-validation")]
    public void EffectiveModelSelection_DefaultsToBestValidationForNoisyLabels(bool noise, bool coTeaching, bool nested, string? given, string expected)
    {
        JobSpec spec = Valid() with
        {
            Training = Valid().Training with { ModelSelection = given },
            Noise = noise ? new NoiseSpec { Rate = 0.2 } : null,
            CoTeaching = coTeaching ? new CoTeachingSpec { ForgetRate = 0.2 } : null,
            NestedDropout = nested ? new NestedDropoutSpec() : null,
        };

        Assert.Equal(expected, spec.EffectiveModelSelection);
    }

    [Theory]
    [InlineData(null, null, null, 0)]
    [InlineData(null, 0.3, null, 0.3)]
    [InlineData("best-validation", null, null, 0.1)]
    [InlineData("best-validation", 0.2, null, 0.2)]
    [InlineData(null, null, 0.25, 0.25)]
    [InlineData("last", null, 0.25, 0.25)]
    public void EffectiveValidationFraction_FollowsSelectionAndNestedDropout(string? selection, double? fraction, double? nestedFraction, double expected)
    {
        JobSpec spec = Valid() with
        {
            Training = Valid().Training with { ModelSelection = selection, ValidationFraction = fraction },
            NestedDropout = nestedFraction is double f ? new NestedDropoutSpec { ValidationFraction = f } : null,
        };

        Assert.Equal(expected, spec.EffectiveValidationFraction);
    }

    [Theory]
    [InlineData(-1, "between 0 and 999")]
    [InlineData(5, "less than training.epochs (5)")]
    [InlineData(7, "less than training.epochs (5)")]
    public void Validate_DenseWarmupOutOfRange_NamesTheField(int warmup, string reason)
    {
        JobSpec spec = Valid() with { Maestro = new MaestroSpec { DenseWarmupEpochs = warmup } };

        ValidationError error = Assert.Single(spec.Validate(s_mnistShape, 10));

        Assert.Equal("maestro.denseWarmupEpochs", error.Field);
        Assert.Contains(reason, error.Message);
    }

    [Theory]
    [InlineData("dense", "model.lowRank is false")]
    [InlineData("no-ordered-dropout", "maestro.orderedDropout is false")]
    [InlineData("co-teaching", "coTeaching is set")]
    [InlineData("nested", "nestedDropout is set")]
    public void Validate_DenseWarmupWhereItCannotApply_SaysWhy(string mix, string why)
    {
        var maestro = new MaestroSpec { DenseWarmupEpochs = 2, OrderedDropout = mix != "no-ordered-dropout" };
        JobSpec spec = Valid() with
        {
            Model = mix == "dense" ? Valid().Model with { LowRank = false, MaxRank = null } : Valid().Model,
            Maestro = maestro,
            CoTeaching = mix == "co-teaching" ? new CoTeachingSpec { ForgetRate = 0.2 } : null,
            NestedDropout = mix == "nested" ? new NestedDropoutSpec() : null,
        };

        ValidationError error = Assert.Single(spec.Validate(s_mnistShape, 10));

        Assert.Equal("maestro.denseWarmupEpochs", error.Field);
        Assert.Contains(why, error.Message);
    }

    [Fact]
    public void Validate_ZeroDenseWarmupOnADenseModel_IsAccepted()
    {
        JobSpec spec = Valid() with { Model = Valid().Model with { LowRank = false, MaxRank = null }, Maestro = new MaestroSpec { DenseWarmupEpochs = 0 } };

        Assert.Empty(spec.Validate(s_mnistShape, 10));
    }

    [Theory]
    [InlineData("best")]
    [InlineData("Last")]
    public void Validate_UnknownModelSelection_IsRejected(string selection)
    {
        JobSpec spec = Valid() with { Training = Valid().Training with { ModelSelection = selection } };

        ValidationError error = Assert.Single(spec.Validate(s_mnistShape, 10));

        Assert.Equal("training.modelSelection", error.Field);
        Assert.Contains("last, best-validation", error.Message);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(0.51)]
    [InlineData(double.NaN)]
    public void Validate_ValidationFractionOutsideRange_IsRejected(double fraction)
    {
        JobSpec spec = Valid() with { Training = Valid().Training with { ValidationFraction = fraction } };

        Assert.Equal("training.validationFraction", Assert.Single(spec.Validate(s_mnistShape, 10)).Field);
    }

    [Fact]
    public void Validate_ValidationFractionWithNestedDropout_PointsToNestedDropoutsOwn()
    {
        JobSpec spec = Valid() with { Training = Valid().Training with { ValidationFraction = 0.2 }, NestedDropout = new NestedDropoutSpec() };

        ValidationError error = Assert.Single(spec.Validate(s_mnistShape, 10));

        Assert.Equal("training.validationFraction", error.Field);
        Assert.Contains("nestedDropout.validationFraction", error.Message);
    }

    [Theory]
    [InlineData("samples", 0, "must be between 1 and 64")]
    [InlineData("samples", 65, "must be between 1 and 64")]
    [InlineData("rate", -0.1, "at least 0 and less than 0.95")]
    [InlineData("rate", 0.95, "at least 0 and less than 0.95")]
    public void Validate_MultiSampleDropoutOutOfRange_NamesTheField(string field, double value, string reason)
    {
        var section = field == "samples" ? new MultiSampleDropoutSpec { Samples = (int)value } : new MultiSampleDropoutSpec { Rate = value };
        JobSpec spec = Valid() with { MultiSampleDropout = section };

        ValidationError error = Assert.Single(spec.Validate(s_mnistShape, 10));

        Assert.Equal($"multiSampleDropout.{field}", error.Field);
        Assert.Contains(reason, error.Message);
    }

    [Theory]
    [InlineData("lambda", 0, "greater than 0 and at most 100")]
    [InlineData("lambda", double.NaN, "finite")]
    [InlineData("beta", 1, "at least 0 and less than 1")]
    [InlineData("beta", -0.5, "at least 0 and less than 1")]
    public void Validate_ElrOutOfRange_NamesTheField(string field, double value, string reason)
    {
        var section = field == "lambda" ? new ElrSpec { Lambda = value } : new ElrSpec { Beta = value };
        JobSpec spec = Valid() with { Elr = section };

        ValidationError error = Assert.Single(spec.Validate(s_mnistShape, 10));

        Assert.Equal($"elr.{field}", error.Field);
        Assert.Contains(reason, error.Message);
    }

    [Theory]
    [InlineData("bound", 1.5, "at least 2 and at most 100")]
    [InlineData("bound", 101, "at least 2 and at most 100")]
    [InlineData("gain", 1, "greater than 1 and at most 10")]
    [InlineData("gain", double.NaN, "finite")]
    public void Validate_CompanderOutOfRange_NamesTheField(string field, double value, string reason)
    {
        var section = field == "bound" ? new CompanderSpec { Bound = value } : new CompanderSpec { Gain = value };
        JobSpec spec = Valid() with { Compander = section };

        ValidationError error = Assert.Single(spec.Validate(s_mnistShape, 10));

        Assert.Equal($"compander.{field}", error.Field);
        Assert.Contains(reason, error.Message);
    }

    [Fact]
    public void Normalized_EmptyCompanderSection_WritesItsDefaults()
    {
        string valid = Valid().ToJson();
        JobSpec spec = JobSpec.Parse(valid[..^1] + ""","compander":{}}""");

        string json = spec.Normalized().ToJson();

        Assert.Empty(spec.Validate(s_mnistShape, 10));
        Assert.Contains("\"compander\":{\"bound\":3,\"gain\":2,\"learnable\":true}", json);
    }

    [Fact]
    public void Normalized_EmptyMultiSampleDropoutAndElrSections_WriteTheirDefaults()
    {
        string valid = Valid().ToJson();
        JobSpec spec = JobSpec.Parse(valid[..^1] + ""","multiSampleDropout":{},"elr":{}}""");

        string json = spec.Normalized().ToJson();

        Assert.Empty(spec.Validate(s_mnistShape, 10));
        Assert.Contains("\"multiSampleDropout\":{\"samples\":8,\"rate\":0.5}", json);
        Assert.Contains("\"elr\":{\"lambda\":3,\"beta\":0.7}", json);
    }

    [Theory]
    [InlineData("fraction", 0, "greater than 0 and at most 1")]
    [InlineData("fraction", 1.5, "greater than 0 and at most 1")]
    [InlineData("partitions", 0, "must be between 1 and 4096")]
    [InlineData("reselectEvery", 0, "must be between 1 and 1000")]
    [InlineData("warmStartEpochs", -1, "must be between 0 and 1000")]
    [InlineData("mode", 0, "must be one of: informative, random")]
    public void Validate_SubsetOutOfRange_NamesTheField(string field, double value, string reason)
    {
        var section = field switch
        {
            "fraction" => new SubsetSpec { Fraction = value },
            "partitions" => new SubsetSpec { Partitions = (int)value },
            "reselectEvery" => new SubsetSpec { ReselectEvery = (int)value },
            "warmStartEpochs" => new SubsetSpec { WarmStartEpochs = (int)value },
            _ => new SubsetSpec { Mode = "craig" },
        };
        JobSpec spec = Valid() with { Subset = section };

        ValidationError error = Assert.Single(spec.Validate(s_mnistShape, 10));

        Assert.Equal($"subset.{field}", error.Field);
        Assert.Contains(reason, error.Message);
    }

    [Fact]
    public void Validate_SubsetWarmStartCoveringEveryEpoch_NamesTheField()
    {
        JobSpec spec = Valid() with { Subset = new SubsetSpec { WarmStartEpochs = Valid().Training.Epochs } };

        ValidationError error = Assert.Single(spec.Validate(s_mnistShape, 10));

        Assert.Equal("subset.warmStartEpochs", error.Field);
        Assert.Contains("less than training.epochs", error.Message);
    }

    [Fact]
    public void Normalized_EmptySubsetSection_WritesItsDefaults()
    {
        string valid = Valid().ToJson();
        JobSpec spec = JobSpec.Parse(valid[..^1] + ""","subset":{}}""");

        string json = spec.Normalized().ToJson();

        Assert.Empty(spec.Validate(s_mnistShape, 10));
        Assert.Contains("\"subset\":{\"fraction\":0.3,\"partitions\":8,\"reselectEvery\":5,\"warmStartEpochs\":1,\"mode\":\"informative\"}", json);
    }

    [Theory]
    [InlineData(1000, 8, 8)]
    [InlineData(60000, 8, 15)]
    [InlineData(4096 * 8, 8, 8)]
    public void SubsetEffectivePartitions_KeepsEveryPartitionWithinTheMemoryBound(long samples, int partitions, int expected)
    {
        Assert.Equal(expected, new SubsetSpec { Partitions = partitions }.EffectivePartitions(samples));
    }

    [Fact]
    public void ElrForNoise_UsesTheAuthorsSettingPerNoiseKind()
    {
        Assert.Equal(new ElrSpec { Lambda = 1, Beta = 0.9 }, ElrSpec.ForNoise(NoiseKinds.Pair));
        Assert.Equal(new ElrSpec { Lambda = 3, Beta = 0.7 }, ElrSpec.ForNoise(NoiseKinds.Symmetric));
    }

    [Fact]
    public void ToJson_ThenParse_RoundTripsCamelCaseWithoutNulls()
    {
        JobSpec spec = Valid() with { Maestro = new MaestroSpec { DenseWarmupEpochs = 1 }, Training = Valid().Training with { ModelSelection = "last" } };

        string json = spec.ToJson();

        Assert.Contains("\"denseWarmupEpochs\":1", json);
        Assert.Contains("\"modelSelection\":\"last\"", json);
        Assert.DoesNotContain("null", json);
        Assert.DoesNotContain("effective", json, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(json, JobSpec.Parse(json).ToJson());
    }

    [Theory]
    [InlineData("", "body", "is empty")]
    [InlineData("   ", "body", "is empty")]
    [InlineData("null", "body", "must be a JSON object")]
    [InlineData("[1]", "body", "is not valid")]
    [InlineData("{\"datasetId\":", "datasetId", "is not valid")]
    [InlineData("{\"trainng\":{}}", "trainng", "is not valid")]
    [InlineData("{\"training\":{\"epoch\":3}}", "training.epoch", "is not valid")]
    [InlineData("{\"training\":{\"epochs\":2.5}}", "training.epochs", "is not valid")]
    [InlineData("{\"maestro\":{\"denseWarmupEpochs\":\"two\"}}", "maestro.denseWarmupEpochs", "is not valid")]
    public void Parse_BadJson_NamesTheFieldPath(string json, string field, string reason)
    {
        var ex = Assert.Throws<DomainValidationException>(() => JobSpec.Parse(json));

        ValidationError error = Assert.Single(ex.Errors);
        Assert.Equal(field, error.Field);
        Assert.StartsWith(reason, error.Message);
    }

    [Fact]
    public void JobSpecJson_Options_AreReadOnly()
    {
        Assert.True(JobSpecJson.Options.IsReadOnly);
        Assert.Throws<InvalidOperationException>(() => JobSpecJson.Options.WriteIndented = true);
    }
}

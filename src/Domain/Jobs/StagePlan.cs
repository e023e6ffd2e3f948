namespace Domain.Jobs;

/// <summary>What a stage of a job trains.</summary>
public enum StageKind
{
    /// <summary>Dense training of the low-rank architecture before Maestro; its SVD initialises the factors.</summary>
    DenseWarmup,

    /// <summary>Standard or Maestro training of one network.</summary>
    Train,

    /// <summary>Nested dropout on the penultimate features (of both networks when co-teaching follows).</summary>
    Nested,

    /// <summary>Co-teaching (or co-teaching+) of two networks.</summary>
    CoTeaching,

    /// <summary>The dense baseline of the same architecture, for the post-hoc SVD comparison.</summary>
    DenseBaseline,
}

/// <summary>One stage of a <see cref="StagePlan"/>.</summary>
/// <param name="Kind">What the stage trains.</param>
/// <param name="Name">The stage's name as reported per epoch (e.g. <c>maestro</c>, <c>co-teaching-plus</c>).</param>
/// <param name="Epochs">Epochs of the stage, at least 1.</param>
/// <param name="FirstEpoch">0-based index of the stage's first epoch over the whole plan.</param>
public sealed record PlannedStage(StageKind Kind, string Name, int Epochs, int FirstEpoch);

/// <summary>
/// The stages a job trains, in order, and their epochs: the one count the Api (progress when queued), the Worker,
/// the SDK and the engine share, so none of them recomputes it. Built by <see cref="From"/>.
/// </summary>
public sealed record StagePlan(IReadOnlyList<PlannedStage> Stages)
{
    /// <summary>Epochs over all stages.</summary>
    public int TotalEpochs => Stages.Sum(s => s.Epochs);

    /// <summary>
    /// The plan of a (valid) spec, with E = <see cref="TrainingSpec.Epochs"/>:
    /// <list type="number">
    /// <item><c>nested-dropout</c> when nested dropout is set: E epochs, or <see cref="NestedDropoutSpec.StageEpochs"/> (default E) when co-teaching follows;</item>
    /// <item><c>co-teaching</c> / <c>co-teaching-plus</c> when co-teaching is set: E epochs;</item>
    /// <item>otherwise, without nested dropout: <c>dense-warmup</c> for W = <see cref="JobSpec.EffectiveDenseWarmupEpochs"/> epochs
    /// when W &gt; 0, then <c>maestro</c> (low-rank with ordered dropout) or <c>standard</c> for E − W epochs;</item>
    /// <item><c>dense-baseline</c> when <see cref="SweepSpec.SvdBaseline"/> is set on a low-rank model: E epochs, as many
    /// as the whole recipe above (warm-up included), so post-hoc SVD is compared against a fully trained network.</item>
    /// </list>
    /// Pure: the same spec always gives the same plan.
    /// </summary>
    public static StagePlan From(JobSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var stages = new List<PlannedStage>();
        void Add(StageKind kind, string name, int epochs) =>
            stages.Add(new PlannedStage(kind, name, epochs, stages.Sum(s => s.Epochs)));

        int epochs = spec.Training.Epochs;
        if (spec.NestedDropout is { } nested)
        {
            Add(StageKind.Nested, "nested-dropout", spec.CoTeaching is null ? epochs : nested.StageEpochs ?? epochs);
        }
        if (spec.CoTeaching is { } coTeaching)
        {
            Add(StageKind.CoTeaching, coTeaching.Plus ? "co-teaching-plus" : "co-teaching", epochs);
        }
        else if (spec.NestedDropout is null)
        {
            int warmup = spec.EffectiveDenseWarmupEpochs;
            if (warmup > 0)
            {
                Add(StageKind.DenseWarmup, "dense-warmup", warmup);
            }
            Add(StageKind.Train, spec.Model.LowRank && spec.EffectiveMaestro.OrderedDropout ? "maestro" : "standard", epochs - warmup);
        }
        if (spec.EffectiveSweep.SvdBaseline && spec.Model.LowRank)
        {
            Add(StageKind.DenseBaseline, "dense-baseline", epochs);
        }
        return new StagePlan(stages);
    }

    /// <summary>The stage that trains the 0-based <paramref name="epochIndex"/> of the whole plan.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The index is negative or not below <see cref="TotalEpochs"/>.</exception>
    public PlannedStage StageAt(int epochIndex)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(epochIndex);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(epochIndex, TotalEpochs);
        foreach (PlannedStage stage in Stages)
        {
            if (epochIndex < stage.FirstEpoch + stage.Epochs)
            {
                return stage;
            }
        }
        throw new InvalidOperationException("The plan's stages do not cover its total epochs.");
    }

    /// <summary>Plans are equal when their stages are (in order).</summary>
    public bool Equals(StagePlan? other) =>
        other is not null && Stages.SequenceEqual(other.Stages);

    public override int GetHashCode()
    {
        var hash = new HashCode();
        foreach (PlannedStage stage in Stages)
        {
            hash.Add(stage);
        }
        return hash.ToHashCode();
    }
}

using System.Text.Json.Serialization;
using Domain.Common;

namespace Domain.Jobs;

/// <summary>
/// Everything a user submits to train one network: the dataset, the architecture, the optimiser and
/// the optional method sections. Serialised as camelCase JSON and stored verbatim on the job.
/// </summary>
public sealed record JobSpec
{
    public Guid DatasetId { get; init; }

    public ModelSpec Model { get; init; } = new();

    public TrainingSpec Training { get; init; } = new();

    /// <summary>Maestro's ordered dropout and group lasso. Null means the defaults of <see cref="MaestroSpec"/>.</summary>
    public MaestroSpec? Maestro { get; init; }

    /// <summary>Nested dropout on the penultimate features (stage 1 of the nested + co-teaching recipe when <see cref="CoTeaching"/> is set too).</summary>
    public NestedDropoutSpec? NestedDropout { get; init; }

    /// <summary>Co-teaching of two networks against noisy labels.</summary>
    public CoTeachingSpec? CoTeaching { get; init; }

    /// <summary>Synthetic label noise injected into the training labels (benchmarking); clean labels are kept for metrics.</summary>
    public NoiseSpec? Noise { get; init; }

    /// <summary>Rank fractions evaluated after training; null means <see cref="SweepSpec.DefaultFractions"/>.</summary>
    public SweepSpec? Sweep { get; init; }

    /// <summary>The Maestro section with defaults filled in.</summary>
    [JsonIgnore]
    public MaestroSpec EffectiveMaestro => Maestro ?? new MaestroSpec();

    /// <summary>The sweep section with defaults filled in.</summary>
    [JsonIgnore]
    public SweepSpec EffectiveSweep => Sweep ?? new SweepSpec();

    /// <summary>The spec with every default written out, as stored on the job (so a run stays reproducible when defaults change).</summary>
    public JobSpec Normalized() => this with { Maestro = EffectiveMaestro, Sweep = EffectiveSweep };

    /// <summary>
    /// Checks the whole spec and returns every violation at once. <paramref name="inputShape"/> (per sample,
    /// e.g. [28, 28] or [3, 32, 32]) and <paramref name="classes"/> enable the checks that need the dataset.
    /// </summary>
    public IReadOnlyList<ValidationError> Validate(IReadOnlyList<int>? inputShape = null, int? classes = null)
    {
        var rules = new Rules();
        if (DatasetId == Guid.Empty)
        {
            rules.Add("datasetId", "is required.");
        }
        if (Model is null)
        {
            rules.Add("model", "is required.");
        }
        else
        {
            Model.Validate(rules, "model", inputShape);
        }
        if (Training is null)
        {
            rules.Add("training", "is required.");
        }
        else
        {
            Training.Validate(rules, "training");
        }
        Maestro?.Validate(rules, "maestro");
        NestedDropout?.Validate(rules, "nestedDropout", Training?.Epochs);
        CoTeaching?.Validate(rules, "coTeaching", Noise, Training?.Epochs);
        Noise?.Validate(rules, "noise", classes);
        Sweep?.Validate(rules, "sweep");
        return rules.Errors;
    }
}

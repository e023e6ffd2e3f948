using System.Text.Json;
using System.Text.Json.Serialization;
using Domain.Common;

namespace Domain.Jobs;

/// <summary>
/// Everything a user submits to train one network: the dataset, the architecture, the optimiser and
/// the optional method sections. Serialised as camelCase JSON (<see cref="JobSpecJson"/>) and stored on the job
/// <see cref="Normalized"/>.
/// </summary>
public sealed record JobSpec
{
    /// <summary>The dataset to train on (one of your tenant's).</summary>
    public Guid DatasetId { get; init; }

    /// <summary>The network.</summary>
    public ModelSpec Model { get; init; } = new();

    /// <summary>Optimiser, schedule and loop settings.</summary>
    public TrainingSpec Training { get; init; } = new();

    /// <summary>Maestro's ordered dropout and group lasso. Null means the defaults of <see cref="MaestroSpec"/>.</summary>
    public MaestroSpec? Maestro { get; init; }

    /// <summary>Nested dropout on the penultimate features (stage 1 of the nested + co-teaching recipe when <see cref="CoTeaching"/> is set too).</summary>
    public NestedDropoutSpec? NestedDropout { get; init; }

    /// <summary>Co-teaching of two networks against noisy labels.</summary>
    public CoTeachingSpec? CoTeaching { get; init; }

    /// <summary>Multi-sample dropout on the penultimate features during training (Inoue 2019).</summary>
    public MultiSampleDropoutSpec? MultiSampleDropout { get; init; }

    /// <summary>Early-learning regularisation against noisy labels (Liu et al. 2020).</summary>
    public ElrSpec? Elr { get; init; }

    /// <summary>Weight compander on the body's weights (unverified form after Cakaj, Mehnert, Yang 2023).</summary>
    public CompanderSpec? Compander { get; init; }

    /// <summary>Training on an informative subset chosen by facility location over the model's features (INGENIOUS, Renduchintala et al. 2023).</summary>
    public SubsetSpec? Subset { get; init; }

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

    /// <summary>
    /// Whether a dense warm-up can precede training: only the Maestro recipe (a low-rank model trained with
    /// ordered dropout, without co-teaching or nested dropout) starts from the SVD of a dense network.
    /// </summary>
    [JsonIgnore]
    public bool DenseWarmupApplies =>
        Model.LowRank && EffectiveMaestro.OrderedDropout && CoTeaching is null && NestedDropout is null;

    /// <summary>
    /// Epochs of dense training before ordered-dropout training: <see cref="MaestroSpec.DenseWarmupEpochs"/>, else
    /// <see cref="MaestroSpec.DefaultDenseWarmupEpochs"/>; 0 when <see cref="DenseWarmupApplies"/> is false.
    /// Always less than <see cref="TrainingSpec.Epochs"/>.
    /// </summary>
    [JsonIgnore]
    public int EffectiveDenseWarmupEpochs => DenseWarmupApplies
        ? Math.Clamp(EffectiveMaestro.DenseWarmupEpochs ?? MaestroSpec.DefaultDenseWarmupEpochs(Training.Epochs), 0, Math.Max(Training.Epochs - 1, 0))
        : 0;

    /// <summary>
    /// Which epoch's model the run ships (<see cref="ModelSelections"/>): <see cref="TrainingSpec.ModelSelection"/>,
    /// else <c>best-validation</c> when the labels may be noisy (co-teaching, nested dropout or synthetic noise) and
    /// <c>last</c> otherwise.
    /// </summary>
    [JsonIgnore]
    public string EffectiveModelSelection => Training.ModelSelection
        ?? (CoTeaching is not null || NestedDropout is not null || Noise is not null ? ModelSelections.BestValidation : ModelSelections.Last);

    /// <summary>
    /// Share of the (noisy) training labels held out as the validation split; 0 means no split.
    /// <see cref="NestedDropoutSpec.ValidationFraction"/> when nested dropout is set (its split also chooses K);
    /// else <see cref="TrainingSpec.ValidationFraction"/>, which defaults to <see cref="TrainingSpec.DefaultValidationFraction"/>
    /// under <c>best-validation</c> model selection and to 0 under <c>last</c>.
    /// </summary>
    [JsonIgnore]
    public double EffectiveValidationFraction => NestedDropout is { } nested
        ? nested.ValidationFraction
        : Training.ValidationFraction ?? (EffectiveModelSelection == ModelSelections.BestValidation ? TrainingSpec.DefaultValidationFraction : 0);

    /// <summary>
    /// The spec with every default written out, as stored on the job (so a run stays reproducible when defaults
    /// change): the method sections, the dense warm-up, the model selection and, when there is a split outside
    /// nested dropout, its validation fraction. Normalising twice gives the same spec.
    /// </summary>
    public JobSpec Normalized()
    {
        double split = EffectiveValidationFraction;
        return this with
        {
            Maestro = EffectiveMaestro with { DenseWarmupEpochs = EffectiveDenseWarmupEpochs },
            Sweep = EffectiveSweep,
            Training = Training with
            {
                ModelSelection = EffectiveModelSelection,
                // Nested dropout's own section holds its split; null under 'last' means no split.
                ValidationFraction = NestedDropout is null && split > 0 ? split : Training.ValidationFraction,
            },
        };
    }

    /// <summary>
    /// Reads a spec from its JSON (<see cref="JobSpecJson.Options"/>). Malformed JSON, a wrong type or a member the
    /// spec does not have throws a <see cref="DomainValidationException"/> naming the field's path
    /// (e.g. <c>training.epochs</c>; <c>body</c> for the document itself). The spec is not validated: call <see cref="Validate"/>.
    /// </summary>
    public static JobSpec Parse(string json)
    {
        if (string.IsNullOrWhiteSpace(json))
        {
            throw new DomainValidationException("body", "is empty; send a JSON job spec.");
        }
        try
        {
            return JsonSerializer.Deserialize<JobSpec>(json, JobSpecJson.Options) ?? throw new DomainValidationException("body", "must be a JSON object.");
        }
        catch (JsonException ex)
        {
            string field = string.IsNullOrEmpty(ex.Path) || ex.Path == "$" ? "body" : ex.Path.TrimStart('$', '.');
            throw new DomainValidationException(field, $"is not valid: {FirstSentence(ex.Message)}");
        }
    }

    /// <summary>The spec as JSON (<see cref="JobSpecJson.Options"/>), as sent by the SDK and stored on the job.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, JobSpecJson.Options);

    private static string FirstSentence(string message)
    {
        int end = message.IndexOf(". ", StringComparison.Ordinal);
        return end < 0 ? message : message[..(end + 1)];
    }

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
        if (Model is not null && Training is not null)
        {
            ValidateCrossSection(rules);
        }
        NestedDropout?.Validate(rules, "nestedDropout", Training?.Epochs);
        CoTeaching?.Validate(rules, "coTeaching", Noise, Training?.Epochs);
        MultiSampleDropout?.Validate(rules, "multiSampleDropout");
        Elr?.Validate(rules, "elr");
        Compander?.Validate(rules, "compander");
        Subset?.Validate(rules, "subset", Training?.Epochs);
        Noise?.Validate(rules, "noise", classes);
        Sweep?.Validate(rules, "sweep");
        return rules.Errors;
    }

    /// <summary>The rules of fields whose meaning depends on other sections.</summary>
    private void ValidateCrossSection(Rules rules)
    {
        if (Maestro?.DenseWarmupEpochs is int warmup)
        {
            const string field = "maestro.denseWarmupEpochs";
            // The range itself is MaestroSpec's rule.
            if (warmup >= 1 && warmup <= MaestroSpec.MaxDenseWarmupEpochs && warmup >= Training.Epochs)
            {
                rules.Add(field, $"must be less than training.epochs ({Training.Epochs}): ordered-dropout training follows the warm-up (was {warmup}).");
            }
            if (warmup > 0)
            {
                string? why =
                    !Model.LowRank ? "the model is dense (model.lowRank is false)"
                    : !EffectiveMaestro.OrderedDropout ? "maestro.orderedDropout is false"
                    : CoTeaching is not null ? "coTeaching is set"
                    : NestedDropout is not null ? "nestedDropout is set"
                    : null;
                if (why is not null)
                {
                    rules.Add(field, $"applies only to Maestro training of a low-rank model with ordered dropout, without co-teaching or nested dropout; here {why}.");
                }
            }
        }
        if (NestedDropout is not null && Training.ValidationFraction is not null)
        {
            rules.Add("training.validationFraction", "cannot be set with nestedDropout: nestedDropout.validationFraction sets the validation split.");
        }
    }
}

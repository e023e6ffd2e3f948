using System.ComponentModel.DataAnnotations;
using Domain.Common;

namespace Domain.Jobs;

/// <summary>Optimiser, schedule and loop settings.</summary>
public sealed record TrainingSpec
{
    /// <summary>Epochs of training, 1..1000; every stage of the job (dense warm-up included) counts in them.</summary>
    [Range(1, 1000)]
    public int Epochs { get; init; } = 5;

    /// <summary>Samples per mini-batch, 1..65536.</summary>
    [Range(1, 65536)]
    public int BatchSize { get; init; } = 128;

    /// <summary>The optimiser's learning rate, in (0, 10].</summary>
    [Range(0, 10, MinimumIsExclusive = true)]
    public double LearningRate { get; init; } = 1e-3;

    /// <summary>Seeds weights, shuffling, rank sampling and noise; the same seed gives the same metrics on CPU.</summary>
    [Range(0, int.MaxValue)]
    public int Seed { get; init; } = 1;

    /// <summary><c>adam</c> or <c>sgd</c> (with momentum).</summary>
    public string Optimizer { get; init; } = Optimizers.Adam;

    /// <summary>SGD momentum, [0, 0.999] (ignored by Adam).</summary>
    [Range(0, 0.999)]
    public double Momentum { get; init; } = 0.9;

    /// <summary>L2 weight decay of the optimiser, [0, 1].</summary>
    [Range(0, 1)]
    public double WeightDecay { get; init; }

    /// <summary>
    /// <c>cosine</c> (default: annealed to zero over each stage, or over a dense warm-up and the training that continues
    /// from it), <c>step</c> (× <see cref="Gamma"/> every <see cref="StepSize"/> epochs) or <c>none</c> (constant).
    /// The default decays because a constant rate leaves the last epoch's model at a random point of its noise
    /// (docs/BENCHMARKS.md: ±1 pt between epochs for low-rank models on 10k samples).
    /// </summary>
    public string Schedule { get; init; } = Schedules.Cosine;

    /// <summary>Epochs between two decays of the <c>step</c> schedule, 1..1000.</summary>
    [Range(1, 1000)]
    public int StepSize { get; init; } = 10;

    /// <summary>Factor the <c>step</c> schedule multiplies the learning rate by, in (0, 1].</summary>
    [Range(0, 1, MinimumIsExclusive = true)]
    public double Gamma { get; init; } = 0.1;

    /// <summary>The validation split of <see cref="ValidationFraction"/> when best-validation selection leaves it out.</summary>
    public const double DefaultValidationFraction = 0.1;

    /// <summary>
    /// Which epoch's model the run ships: <c>last</c> (the final epoch) or <c>best-validation</c> (the epoch with the
    /// best accuracy on the validation split of the noisy training labels; never test labels).
    /// Null picks <c>best-validation</c> when coTeaching, nestedDropout or noise is set, else <c>last</c>
    /// (<see cref="JobSpec.EffectiveModelSelection"/>).
    /// </summary>
    public string? ModelSelection { get; init; }

    /// <summary>
    /// Share of the (noisy) training labels held out for model selection, in (0, 0.5]. Null uses
    /// <see cref="DefaultValidationFraction"/> under <c>best-validation</c> and no split under <c>last</c>; with
    /// nestedDropout its own <see cref="NestedDropoutSpec.ValidationFraction"/> applies instead
    /// (<see cref="JobSpec.EffectiveValidationFraction"/>).
    /// </summary>
    [Range(0, 0.5, MinimumIsExclusive = true)]
    public double? ValidationFraction { get; init; }

    internal void Validate(Rules rules, string path)
    {
        rules.Range($"{path}.epochs", Epochs, 1, 1000);
        rules.Range($"{path}.batchSize", BatchSize, 1, 65536);
        rules.Range($"{path}.learningRate", LearningRate, 0, 10, minExclusive: true);
        rules.Range($"{path}.seed", Seed, 0, int.MaxValue);
        rules.OneOf($"{path}.optimizer", Optimizer, Optimizers.All);
        rules.Range($"{path}.momentum", Momentum, 0, 0.999);
        rules.Range($"{path}.weightDecay", WeightDecay, 0, 1);
        rules.OneOf($"{path}.schedule", Schedule, Schedules.All);
        if (Schedule == Schedules.Step)
        {
            rules.Range($"{path}.stepSize", StepSize, 1, 1000);
            rules.Range($"{path}.gamma", Gamma, 0, 1, minExclusive: true);
        }
        if (ModelSelection is not null)
        {
            rules.OneOf($"{path}.modelSelection", ModelSelection, ModelSelections.All);
        }
        if (ValidationFraction is double fraction)
        {
            rules.Range($"{path}.validationFraction", fraction, 0, 0.5, minExclusive: true);
        }
    }
}

public static class Optimizers
{
    public const string Adam = "adam";
    public const string Sgd = "sgd";
    public static readonly string[] All = [Adam, Sgd];
}

public static class Schedules
{
    public const string None = "none";
    public const string Step = "step";
    public const string Cosine = "cosine";
    public static readonly string[] All = [None, Step, Cosine];
}

/// <summary>Values of <see cref="TrainingSpec.ModelSelection"/>.</summary>
public static class ModelSelections
{
    public const string Last = "last";
    public const string BestValidation = "best-validation";
    public static readonly string[] All = [Last, BestValidation];
}

using Domain.Common;

namespace Domain.Jobs;

/// <summary>Optimiser, schedule and loop settings.</summary>
public sealed record TrainingSpec
{
    public int Epochs { get; init; } = 5;

    public int BatchSize { get; init; } = 128;

    public double LearningRate { get; init; } = 1e-3;

    /// <summary>Seeds weights, shuffling, rank sampling and noise; the same seed gives the same metrics on CPU.</summary>
    public int Seed { get; init; } = 1;

    /// <summary><c>adam</c> or <c>sgd</c> (with momentum).</summary>
    public string Optimizer { get; init; } = Optimizers.Adam;

    public double Momentum { get; init; } = 0.9;

    public double WeightDecay { get; init; }

    /// <summary><c>none</c>, <c>step</c> (× <see cref="Gamma"/> every <see cref="StepSize"/> epochs) or <c>cosine</c>.</summary>
    public string Schedule { get; init; } = Schedules.None;

    public int StepSize { get; init; } = 10;

    public double Gamma { get; init; } = 0.1;

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

using Domain.Jobs;

namespace Training.Methods;

/// <summary>Per-epoch learning rate, a pure function of the epoch so a resumed run reproduces it exactly.</summary>
public static class LearningRateSchedule
{
    /// <summary>Rate for epoch <paramref name="epoch"/> (0-based) of a stage lasting <paramref name="epochs"/>.</summary>
    public static double At(TrainingSpec training, int epoch, int epochs) => training.Schedule switch
    {
        Schedules.Step => training.LearningRate * Math.Pow(training.Gamma, epoch / Math.Max(1, training.StepSize)),
        // SGDR-style cosine annealing to zero over the stage (Loshchilov and Hutter 2017), without restarts.
        Schedules.Cosine => 0.5 * training.LearningRate * (1 + Math.Cos(Math.PI * epoch / Math.Max(1, epochs))),
        _ => training.LearningRate,
    };
}

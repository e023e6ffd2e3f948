using Domain.Jobs;

namespace Training.Parts.Hooks;

/// <summary>
/// Ends a dense warm-up: the factorised network takes the SVD of the warmed-up dense network (each layer's best
/// approximation at every rank), so ordered-dropout training starts where post-hoc SVD would end and improves the
/// small ranks from there. Its optimiser starts fresh, as no step was taken on it during the warm-up.
/// </summary>
internal sealed class DenseWarmupHandOff : EpochHook
{
    public override bool ActiveIn(StageKind stage) => stage == StageKind.DenseWarmup;

    public override void OnEpochEnd(EpochContext epoch)
    {
        if (epoch.IsLastOfStage)
        {
            epoch.Session.Main[0].Net.CopyFromDense(epoch.Session.Warmup!.Net);
        }
    }
}

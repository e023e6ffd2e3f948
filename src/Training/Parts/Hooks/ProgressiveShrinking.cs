using Domain.Jobs;
using Training.Methods;
using Training.Modules;

namespace Training.Parts.Hooks;

/// <summary>Maestro's progressive shrinking: after each epoch, drop the ranks whose importance in_k·out_k fell below the threshold.</summary>
internal sealed class ProgressiveShrinking(double threshold) : EpochHook
{
    public override bool ActiveIn(StageKind stage) => stage is StageKind.Train or StageKind.Nested or StageKind.CoTeaching;

    public override void OnEpochEnd(EpochContext epoch)
    {
        foreach (Learner learner in epoch.Learners.Where(l => l.Net.IsLowRank))
        {
            foreach (IFactorizedLayer layer in learner.Net.Factorized)
            {
                layer.ActiveRank = Math.Min(layer.ActiveRank, GroupLasso.RanksToKeep(layer, threshold));
            }
        }
    }
}

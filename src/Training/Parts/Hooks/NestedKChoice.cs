using Domain.Jobs;
using Training.Engine;

namespace Training.Parts.Hooks;

/// <summary>
/// Nested dropout's choice of K (Chen et al. 2021): every epoch scores all truncations of the first learner on the
/// validation split and reports it at its best K; at the end of the stage each learner keeps its own best K.
/// The chosen K lives in each network's feature mask, which the checkpoint stores with the network.
/// </summary>
internal sealed class NestedKChoice : EpochHook
{
    public override bool ActiveIn(StageKind stage) => stage == StageKind.Nested;

    public override void OnEpochEnd(EpochContext epoch)
    {
        var (validationX, validationY) = epoch.Session.Validation;
        var (k, accuracy) = Evaluation.SelectBestK(epoch.Learners[0].Net, validationX, validationY);
        epoch.Extra["bestK"] = k;
        epoch.Extra["validationAccuracy"] = accuracy;
        epoch.ReportTruncation = k;
        if (epoch.IsLastOfStage)
        {
            foreach (Learner learner in epoch.Learners)
            {
                learner.Net.FeatureTruncation = learner.Index == 0 ? k : Evaluation.SelectBestK(learner.Net, validationX, validationY).K;
            }
        }
    }
}

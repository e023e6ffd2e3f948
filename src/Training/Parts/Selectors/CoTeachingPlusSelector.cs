using Domain.Jobs;
using Training.Methods;

namespace Training.Parts.Selectors;

/// <summary>
/// Co-teaching+ (Yu et al. 2019; xingruiyu/coteaching_plus): after <see cref="CoTeachingSpec.PlusStartEpoch"/> epochs
/// of plain co-teaching, each network keeps the ⌊(1 − R(t))·|D|⌋ smallest losses among the samples D on which the
/// two networks' predictions disagree (the whole batch when they agree on all).
/// </summary>
internal sealed class CoTeachingPlusSelector(CoTeachingSpec spec, NoiseSpec? noise) : CoTeachingSelector(spec, noise)
{
    private bool _disagreement;

    public override void OnEpochStart(EpochContext epoch)
    {
        base.OnEpochStart(epoch);
        _disagreement = epoch.EpochInStage >= Spec.PlusStartEpoch;
    }

    public override void Select(StepContext step)
    {
        if (!_disagreement)
        {
            base.Select(step);
            return;
        }
        LearnerStep a = step.Learners[0], b = step.Learners[1];
        var (first, second) = CoTeaching.Disagreement(a.Logits, b.Logits, a.PerSampleLoss, b.PerSampleLoss, ForgetRate);
        Exchange(step, first, second);
    }
}

using Domain.Jobs;
using Training.Methods;
using static TorchSharp.torch;

namespace Training.Parts.Selectors;

/// <summary>
/// Co-teaching (Han et al. 2018; bhanML/Co-teaching): each network keeps the ⌊(1 − R(t))·B⌋ samples of smallest
/// loss under its own predictions, and its peer updates on them. R(t) = τ·min((t/T_k)^c, 1) is set per epoch.
/// </summary>
internal class CoTeachingSelector(CoTeachingSpec spec, NoiseSpec? noise) : SampleSelector
{
    protected CoTeachingSpec Spec { get; } = spec;

    /// <summary>R(t) of the current epoch.</summary>
    protected double ForgetRate { get; private set; }

    public override bool ActiveIn(StageKind stage) => stage == StageKind.CoTeaching;

    public override void OnEpochStart(EpochContext epoch)
    {
        ForgetRate = CoTeaching.ForgetRate(epoch.EpochInStage, Spec.EffectiveForgetRate(noise), Spec.GradualEpochs, Spec.Exponent);
        epoch.Extra["forgetRate"] = ForgetRate;
    }

    public override void Select(StepContext step)
    {
        var (first, second) = CoTeaching.SmallLoss(step.Learners[0].PerSampleLoss, step.Learners[1].PerSampleLoss, CoTeaching.Keep(step.Count, ForgetRate));
        Exchange(step, first, second);
    }

    /// <summary>Each network learns from the samples its peer judged clean.</summary>
    protected static void Exchange(StepContext step, Tensor first, Tensor second)
    {
        step.Learners[0].Weights = second;
        step.Learners[1].Weights = first;
    }
}

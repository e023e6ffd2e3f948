using Domain.Jobs;
using Training.Engine;
using Training.Parts.Hooks;
using Training.Parts.Losses;
using Training.Parts.Selectors;
using Training.Parts.Transforms;

namespace Training.Parts;

/// <summary>
/// Builds a job's training method from its spec: one registration line per part, in the order the loop runs
/// them (transforms, then the first selector active in a stage, then loss terms summed, then epoch hooks). A hook may
/// also restrict an epoch to some samples (<see cref="TrainingPart.EpochSamples"/>), which the selectors then act within.
/// Adding a method is one part class, its spec section and one line here.
/// </summary>
internal static class MethodComposer
{
    private sealed record Registration(Func<JobSpec, StagePlan, bool> Applies, Func<SessionState, TrainingPart> Create);

    private static readonly Registration[] s_registrations =
    [
        // Forward transforms.
        new((s, _) => s.NestedDropout is not null, st => new NestedDropoutMask(st.Main[0].Net.FeatureCount, st.Spec.NestedDropout!.Sigma)),
        new((s, _) => s.Model.LowRank && s.EffectiveMaestro.OrderedDropout, st => new OrderedDropoutPass(st.Spec.EffectiveMaestro.Sampling)),
        new((s, _) => s.MultiSampleDropout is not null, st => new MultiSampleDropout(st.Spec.MultiSampleDropout!)),
        new((s, _) => s.Compander is not null, st => new WeightCompanding(st)),

        // Sample selectors: the first one active in a stage acts.
        new((s, _) => s.CoTeaching is { Plus: false }, st => new CoTeachingSelector(st.Spec.CoTeaching!, st.Spec.Noise)),
        new((s, _) => s.CoTeaching is { Plus: true }, st => new CoTeachingPlusSelector(st.Spec.CoTeaching!, st.Spec.Noise)),
        new((_, _) => true, _ => new AllSamples()),

        // Loss terms.
        new((_, _) => true, st => new CrossEntropyTerm(sampledPassOnly: st.Spec.EffectiveMaestro is { OrderedDropout: true, SelfDistillation: false })),
        new((s, _) => s.Model.LowRank && s.EffectiveMaestro is { OrderedDropout: true, SelfDistillation: true }, _ => new SelfDistillationTerm()),
        new((s, _) => s.Model.LowRank && s.EffectiveMaestro is { OrderedDropout: true, SelfDistillation: false }, _ => new SampledCrossEntropyTerm()),
        new((s, _) => s.Model.LowRank && s.EffectiveMaestro.GroupLasso > 0, st => new GroupLassoTerm(st.Spec.EffectiveMaestro.GroupLasso)),
        new((s, _) => s.Elr is not null, st => new EarlyLearningRegularization(st.Spec.Elr!, st.Main.Count, st.TrainY.shape[0], st.Main[0].Net.Classes, st.Device)),

        // Epoch hooks, in this order: choose the epoch's subset (at its start), shrink, then choose K, then hand off a
        // warm-up, then score for model selection.
        new((s, _) => s.Subset is not null, st => new InformativeSubset(st.Spec.Subset!, st.Spec.Training.Seed)),
        new((s, _) => s.Model.LowRank && s.EffectiveMaestro.Shrink, st => new ProgressiveShrinking(st.Spec.EffectiveMaestro.ShrinkThreshold)),
        new((s, _) => s.NestedDropout is not null, _ => new NestedKChoice()),
        new((_, p) => p.Stages.Any(x => x.Kind == StageKind.DenseWarmup), _ => new DenseWarmupHandOff()),
        new((s, _) => s.EffectiveModelSelection == ModelSelections.BestValidation, st => new BestValidationSelection(ShippingStage(st.Plan))),
    ];

    public static IReadOnlyList<TrainingPart> Compose(SessionState state) =>
        s_registrations.Where(r => r.Applies(state.Spec, state.Plan)).Select(r => r.Create(state)).ToList();

    /// <summary>The stage whose networks are shipped: the last one that is not the dense baseline.</summary>
    public static StageKind ShippingStage(StagePlan plan) => plan.Stages.Last(s => s.Kind != StageKind.DenseBaseline).Kind;
}

using Domain.Jobs;
using Training.Methods;
using static TorchSharp.torch;

namespace Training.Parts.Losses;

/// <summary>λ · Maestro's hierarchical group lasso over a low-rank learner's factorised layers (see <see cref="GroupLasso"/>).</summary>
internal sealed class GroupLassoTerm(double lambda) : LossTerm
{
    public override bool ActiveIn(StageKind stage) => stage is StageKind.Train or StageKind.Nested or StageKind.CoTeaching;

    public override Tensor? Compute(LearnerStep learner, StepContext step) =>
        learner.Net.IsLowRank ? lambda * GroupLasso.Penalty(learner.Net.Factorized) : null;
}

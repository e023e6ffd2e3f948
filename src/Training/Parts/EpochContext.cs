using Domain.Jobs;
using Training.Engine;

namespace Training.Parts;

/// <summary>What parts see of an epoch: its stage, its learners, the session's data and the epoch's report extras.</summary>
internal sealed class EpochContext(SessionState session, PlannedStage stage, int epochInStage, IReadOnlyList<Learner> learners, Random random)
{
    public SessionState Session { get; } = session;

    public PlannedStage Stage { get; } = stage;

    /// <summary>0-based epoch within the stage.</summary>
    public int EpochInStage { get; } = epochInStage;

    /// <summary>0-based epoch over the whole plan.</summary>
    public int Epoch => Stage.FirstEpoch + EpochInStage;

    public bool IsLastOfStage => EpochInStage + 1 == Stage.Epochs;

    /// <summary>The networks this stage trains, in order (co-teaching's two, or one).</summary>
    public IReadOnlyList<Learner> Learners { get; } = learners;

    /// <summary>The epoch's managed random stream, seeded from (seed, epoch).</summary>
    public Random Random { get; } = random;

    /// <summary>Extra metrics of the epoch's report.</summary>
    public Dictionary<string, double> Extra { get; } = [];

    /// <summary>Feature truncation under which the first learner is reported this epoch (nested dropout's current best K).</summary>
    public int? ReportTruncation { get; set; }
}

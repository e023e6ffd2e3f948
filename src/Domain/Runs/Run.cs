namespace Domain.Runs;

/// <summary>One training execution of a job's configuration (a job may fan out into several runs for sweeps).</summary>
public sealed class Run : Tenants.ITenantOwned
{
    public Guid Id { get; set; }

    /// <summary>The job's tenant.</summary>
    public Guid TenantId { get; set; }

    public Guid JobId { get; set; }

    /// <summary>Position of this run within its job (0 for a single run).</summary>
    public int Index { get; set; }

    public RunStatus Status { get; set; } = RunStatus.Running;

    /// <summary>Device the run trained on, e.g. <c>cpu</c> or <c>cuda:0</c>.</summary>
    public string? Device { get; set; }

    public DateTime StartedAt { get; set; }

    public DateTime? FinishedAt { get; set; }

    /// <summary>Full-rank test accuracy on clean test labels once finished.</summary>
    public double? TestAccuracy { get; set; }

    /// <summary>
    /// The epoch (1-based, over all stages) whose model the run shipped, once finished: the last epoch under
    /// <c>last</c> model selection, the best one on the validation split under <c>best-validation</c>.
    /// </summary>
    public int? ShippedEpoch { get; set; }

    /// <summary>
    /// Why <see cref="ShippedEpoch"/> was shipped (<see cref="Jobs.ModelSelections"/>), once finished: <c>last</c> (the final epoch) or
    /// <c>best-validation</c> (highest accuracy on a validation split of the noisy training labels, never the test labels).
    /// </summary>
    public string? ModelSelection { get; set; }

    /// <summary>
    /// Accuracy of the shipped model on the validation split of the (noisy) training labels, once finished;
    /// null when the run had no split.
    /// </summary>
    public double? ValidationAccuracy { get; set; }

    public List<EpochMetric> Metrics { get; set; } = [];

    public List<CurvePoint> Curve { get; set; } = [];
}

/// <summary>A run's lifecycle: <c>Running</c>, then <c>Succeeded</c>, <c>Failed</c> or <c>Cancelled</c>. Sent as these strings.</summary>
public enum RunStatus
{
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

/// <summary>Metrics of one epoch of a run; (RunId, Epoch) is unique.</summary>
public sealed class EpochMetric
{
    public Guid Id { get; set; }

    public Guid RunId { get; set; }

    public int Epoch { get; set; }

    public string Stage { get; set; } = "train";

    public double TrainLoss { get; set; }

    public double TrainAccuracy { get; set; }

    public double TestAccuracy { get; set; }

    /// <summary>Fraction of selected samples whose label is correct (noisy-label training only).</summary>
    public double? LabelPrecision { get; set; }

    /// <summary>
    /// Accuracy of the first network on the validation split of the (noisy) training labels; null when the run
    /// holds out no split.
    /// </summary>
    public double? ValidationAccuracy { get; set; }

    public double Seconds { get; set; }

    public DateTime CreatedAt { get; set; }
}

/// <summary>Test accuracy of a run truncated to one rank fraction; (RunId, RankFraction) is unique.</summary>
public sealed class CurvePoint
{
    public Guid Id { get; set; }

    public Guid RunId { get; set; }

    public double RankFraction { get; set; }

    /// <summary>Rank kept per factorised layer.</summary>
    public int[] Ranks { get; set; } = [];

    public long Parameters { get; set; }

    /// <summary>Multiply-accumulate FLOPs per sample (2 per MAC).</summary>
    public long Flops { get; set; }

    public double Accuracy { get; set; }

    /// <summary>Accuracy of the dense baseline truncated by post-hoc SVD to about the same parameter count.</summary>
    public double? SvdAccuracy { get; set; }

    public long? SvdParameters { get; set; }
}

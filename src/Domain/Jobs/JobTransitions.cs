namespace Domain.Jobs;

/// <summary>
/// The job state machine: <c>Queued → Running → Succeeded | Failed | Cancelled</c>, <c>Queued → Cancelled</c> (a cancel
/// before a worker holds it), <c>Queued → Failed</c> (recovery gives up), and <c>Running → Queued</c> only by the lease's
/// owner (hand-back, retry) or by recovery once the lease has lapsed. Finished states are final.
/// </summary>
public static class JobTransitions
{
    public static bool IsAllowed(JobStatus from, JobStatus to) => (from, to) switch
    {
        (JobStatus.Queued, JobStatus.Running or JobStatus.Cancelled or JobStatus.Failed) => true,
        (JobStatus.Running, JobStatus.Queued or JobStatus.Succeeded or JobStatus.Failed or JobStatus.Cancelled) => true,
        _ => false,
    };

    /// <summary>Statuses a job may move to <paramref name="to"/> from.</summary>
    public static JobStatus[] From(JobStatus to) =>
        Enum.GetValues<JobStatus>().Where(from => IsAllowed(from, to)).ToArray();

    /// <summary>Throws when <paramref name="from"/> → <paramref name="to"/> is not a transition of the machine.</summary>
    public static void Ensure(JobStatus from, JobStatus to)
    {
        if (!IsAllowed(from, to))
        {
            throw new InvalidOperationException($"A job cannot move from {from} to {to}.");
        }
    }
}

using Hangfire;
using Hangfire.States;

namespace Infrastructure.Jobs;

/// <summary>Puts training jobs on the <see cref="Options.Queues.Training"/> queue and takes them off.</summary>
public interface ITrainingQueue
{
    /// <summary>Enqueues job <paramref name="jobId"/> and returns the queue entry's id.</summary>
    string Enqueue(Guid jobId);

    /// <summary>Removes a queued entry or signals a running one to stop (its cancellation token fires).</summary>
    void Cancel(string queueJobId);

    /// <summary>Removes an entry only while it is still waiting in the queue; one a worker already took is left alone.</summary>
    bool Withdraw(string queueJobId);
}

internal sealed class HangfireTrainingQueue(IBackgroundJobClient client) : ITrainingQueue
{
    public string Enqueue(Guid jobId) =>
        client.Create<ITrainingJob>(job => job.Run(jobId, CancellationToken.None), new EnqueuedState(Options.Queues.Training));

    public void Cancel(string queueJobId) => client.Delete(queueJobId);

    public bool Withdraw(string queueJobId) => client.ChangeState(queueJobId, new DeletedState(), EnqueuedState.StateName);
}

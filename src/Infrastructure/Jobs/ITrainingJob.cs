using Hangfire;

namespace Infrastructure.Jobs;

/// <summary>
/// The background job that trains one job's runs. The Api enqueues through this interface only;
/// the worker process registers the implementation (Hangfire: placing processing into another process).
/// </summary>
public interface ITrainingJob
{
    /// <summary>Retries after a crash or an unexpected error; each resumes from the last checkpoint.</summary>
    const int Retries = 3;

    /// <summary>Trains job <paramref name="jobId"/>, resuming from its latest checkpoint when one exists. Safe to run twice.</summary>
    [AutomaticRetry(Attempts = Retries, DelaysInSeconds = [1, 5, 15])]
    // Without it a retry, once due, is enqueued on Hangfire's "default" queue, where no training worker listens.
    [Queue(Options.Queues.Training)]
    [JobDisplayName("Train job {0}")]
    void Run(Guid jobId, CancellationToken cancellationToken);
}

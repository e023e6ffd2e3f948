namespace Infrastructure.Jobs;

/// <summary>
/// The background job that trains one job's runs. The Api enqueues through this interface only;
/// the worker process registers the implementation (Hangfire: placing processing into another process).
/// </summary>
public interface ITrainingJob
{
    /// <summary>Trains job <paramref name="jobId"/>, resuming from its latest checkpoint when one exists. Safe to run twice.</summary>
    void Run(Guid jobId, CancellationToken cancellationToken);
}

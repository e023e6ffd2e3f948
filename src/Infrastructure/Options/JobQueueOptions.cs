namespace Infrastructure.Options;

/// <summary>Section <c>JobQueue</c>: Hangfire settings shared by the enqueuing Api and the worker.</summary>
public sealed class JobQueueOptions
{
    public const string SectionName = "JobQueue";

    /// <summary>
    /// How long a fetched job stays invisible to other workers without a heartbeat. With the sliding
    /// timeout a live worker keeps extending it, so long trainings never start twice; after a crash the
    /// job is handed to another worker once this has passed.
    /// </summary>
    public TimeSpan InvisibilityTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>PostgreSQL schema of Hangfire's tables.</summary>
    public string Schema { get; set; } = "hangfire";
}

/// <summary>Queue names.</summary>
public static class Queues
{
    /// <summary>Training jobs; only training workers listen on it, one worker thread per GPU.</summary>
    public const string Training = "gpu";
}

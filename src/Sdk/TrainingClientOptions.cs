namespace TrainingService.Sdk;

/// <summary>Settings of a <see cref="TrainingClient"/> created with <see cref="TrainingClient.Create(Uri, TrainingClientOptions?)"/>.</summary>
public sealed class TrainingClientOptions
{
    /// <summary>
    /// The API key every call sends as <c>x-api-key</c> metadata. Null reads the environment variable
    /// <c>TRAINING_API_KEY</c>; without either, calls fail with <see cref="StatusCode.Unauthenticated"/>.
    /// </summary>
    public string? ApiKey { get; set; }

    /// <summary>
    /// Attempts (first call included) for calls that are safe to repeat: reads, lists and job submission
    /// (which always carries an idempotency key). Uploads and cancellation are never retried. 1 turns retries off.
    /// </summary>
    public int MaxAttempts { get; set; } = 5;

    /// <summary>Delay before the first retry; each later one doubles, up to <see cref="MaxBackoff"/>.</summary>
    public TimeSpan InitialBackoff { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Longest delay between two retries or two reconnects of <see cref="JobsClient.WatchAsync"/>.</summary>
    public TimeSpan MaxBackoff { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How many reconnects in a row <see cref="JobsClient.WatchAsync"/> tries without receiving an event before it gives up.</summary>
    public int MaxWatchReconnects { get; set; } = 10;

    /// <summary>Bytes per upload message (the server accepts messages of up to 4 MiB).</summary>
    public int UploadChunkSize { get; set; } = 1 << 20;

    /// <summary>Handler for the channel's HTTP/2 traffic (tests pass an in-memory server's handler); null uses a <see cref="SocketsHttpHandler"/>.</summary>
    public HttpMessageHandler? HttpHandler { get; set; }
}

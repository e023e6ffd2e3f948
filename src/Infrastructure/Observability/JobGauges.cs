using System.Diagnostics.Metrics;
using Hangfire;
using Infrastructure.Data;
using Infrastructure.Options;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Infrastructure.Observability;

/// <summary>
/// Gauges read from the shared stores at scrape time, so every Api replica reports the same fleet-wide
/// numbers: <c>tas.jobs</c> (jobs per <c>tas.job.status</c>, all tenants) and <c>tas.queue.depth</c> (Hangfire
/// jobs waiting on the training queue). One query each at most every <see cref="CacheFor"/>, however often
/// Prometheus scrapes. Registered by the Api only; the meter belongs to the DI container and goes with it.
/// </summary>
public sealed class JobGauges
{
    public static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(5);

    private readonly IServiceScopeFactory _scopes;
    private readonly JobStorage _storage;
    private readonly TimeProvider _clock;
    private readonly ILogger<JobGauges> _logger;
    private readonly Lock _lock = new();
    private DateTimeOffset _readAt = DateTimeOffset.MinValue;
    private Dictionary<JobStatus, int> _byStatus = [];
    private long _queued;

    public JobGauges(IMeterFactory meters, IServiceScopeFactory scopes, JobStorage storage, TimeProvider clock, ILogger<JobGauges> logger)
    {
        _scopes = scopes;
        _storage = storage;
        _clock = clock;
        _logger = logger;
        Meter meter = meters.Create(ServiceTelemetry.Name);
        meter.CreateObservableGauge("tas.jobs", ObserveJobs, "{job}", "Jobs by status, over all tenants.");
        meter.CreateObservableGauge("tas.queue.depth", ObserveQueue, "{job}", "Jobs enqueued on the training queue and not yet picked up by a worker.");
    }

    private IEnumerable<Measurement<int>> ObserveJobs()
    {
        Refresh();
        return Enum.GetValues<JobStatus>().Select(s => new Measurement<int>(
            _byStatus.GetValueOrDefault(s), new KeyValuePair<string, object?>("tas.job.status", s.ToString().ToLowerInvariant())));
    }

    private Measurement<long> ObserveQueue()
    {
        Refresh();
        return new Measurement<long>(_queued, new KeyValuePair<string, object?>("messaging.destination.name", Queues.Training));
    }

    private void Refresh()
    {
        lock (_lock)
        {
            if (_clock.GetUtcNow() - _readAt < CacheFor)
            {
                return;
            }
            _readAt = _clock.GetUtcNow();
            try
            {
                using IServiceScope scope = _scopes.CreateScope();
                AppDbContext db = scope.ServiceProvider.GetRequiredService<AppDbContext>();
                _byStatus = db.Jobs.AsNoTracking().GroupBy(j => j.Status).Select(g => new { g.Key, Count = g.Count() })
                    .ToDictionary(g => g.Key, g => g.Count);
                _queued = _storage.GetMonitoringApi().EnqueuedCount(Queues.Training);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // A scrape during a database outage keeps the last numbers; readiness reports the outage.
                _logger.LogDebug(ex, "Could not read job counts for metrics.");
            }
        }
    }
}

using Hangfire;
using Hangfire.Storage.Monitoring;
using Infrastructure.Jobs;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using TorchSharp;
using Training.Engine;

namespace Worker.Hosting;

/// <summary>Ready when the worker's torch device can allocate a tensor (CUDA driver and libtorch are usable).</summary>
internal sealed class TorchDeviceHealthCheck(TrainingEngine engine) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var data = new Dictionary<string, object>
        {
            ["device"] = engine.DeviceName,
            ["libtorch"] = torch.__version__,
        };
        try
        {
            using torch.Tensor probe = torch.ones(1, device: torch.device(engine.DeviceName));
            return Task.FromResult(HealthCheckResult.Healthy($"{engine.DeviceName} allocates tensors.", data));
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            return Task.FromResult(HealthCheckResult.Unhealthy($"{engine.DeviceName} cannot allocate a tensor.", ex, data));
        }
    }
}

/// <summary>
/// Ready when this process's Hangfire server is registered and heartbeating in the job storage: otherwise it
/// takes no jobs (and with PostgreSQL its jobs would be handed to other workers after the invisibility timeout).
/// </summary>
internal sealed class HangfireServerHealthCheck(JobStorage storage, TimeProvider clock) : IHealthCheck
{
    /// <summary>Hangfire heartbeats every 30 s by default; two missed beats are unhealthy.</summary>
    public static readonly TimeSpan MaxHeartbeatAge = TimeSpan.FromSeconds(75);

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        IList<ServerDto> servers = storage.GetMonitoringApi().Servers();
        ServerDto? own = servers.Where(s => s.Name.StartsWith(WorkerRegistry.ServerName + ":", StringComparison.OrdinalIgnoreCase))
            .OrderByDescending(s => s.Heartbeat).FirstOrDefault();
        if (own?.Heartbeat is not DateTime heartbeat)
        {
            return Task.FromResult(HealthCheckResult.Unhealthy($"No Hangfire server named {WorkerRegistry.ServerName} is registered."));
        }
        TimeSpan age = clock.GetUtcNow().UtcDateTime - DateTime.SpecifyKind(heartbeat, DateTimeKind.Utc);
        var data = new Dictionary<string, object> { ["server"] = own.Name, ["heartbeatAgeSeconds"] = Math.Round(age.TotalSeconds, 1) };
        return Task.FromResult(age <= MaxHeartbeatAge
            ? HealthCheckResult.Healthy("The Hangfire server heartbeats.", data)
            : HealthCheckResult.Unhealthy($"The last Hangfire heartbeat is {age.TotalSeconds:F0} s old.", data: data));
    }
}

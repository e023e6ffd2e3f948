using Hangfire;
using Infrastructure.Jobs;
using Microsoft.Extensions.Hosting;
using TorchSharp;
using Training.Engine;

namespace Worker.Hosting;

/// <summary>
/// Puts this worker's devices and torch versions into the <see cref="WorkerRegistry"/> at start-up, renews them
/// every <see cref="WorkerRegistry.RenewEvery"/> and withdraws them on shutdown. A failed write is logged and
/// retried at the next renewal: the registry then shows the worker without them, training is unaffected.
/// </summary>
internal sealed class WorkerAnnouncement(JobStorage storage, TrainingEngine engine, TimeProvider clock, ILogger<WorkerAnnouncement> logger)
    : BackgroundService
{
    /// <summary>This process as the registry describes it.</summary>
    public WorkerDescription Description { get; } = new(
        Environment.MachineName, [engine.DeviceName], typeof(torch).Assembly.GetName().Version?.ToString() ?? "", torch.__version__);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Off the start-up path: a slow database must not hold the host's start.
        await Task.Yield();
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                WorkerRegistry.Announce(storage, Description);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                logger.LogWarning(ex, "Could not write this worker's entry in the worker registry; retrying in {Interval}.", WorkerRegistry.RenewEvery);
            }
            try
            {
                await Task.Delay(WorkerRegistry.RenewEvery, clock, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        try
        {
            WorkerRegistry.Withdraw(storage);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // The entry expires on its own after WorkerRegistry.AnnouncementLifetime.
            logger.LogDebug(ex, "Could not remove this worker's registry entry.");
        }
    }
}

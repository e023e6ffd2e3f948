using Infrastructure.Data;
using Infrastructure.Jobs;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Worker.Hosting;

/// <summary>Runs <see cref="JobReconciler"/> every <see cref="WorkerOptions.ReconcileInterval"/> in each worker.</summary>
internal sealed class ReconcilerService(IServiceScopeFactory scopes, IOptions<WorkerOptions> options, ILogger<ReconcilerService> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.ReconcileInterval);
        do
        {
            try
            {
                await using AsyncServiceScope scope = scopes.CreateAsyncScope();
                ReconcileResult result = scope.ServiceProvider.GetRequiredService<JobReconciler>().Reconcile(options.Value.ReconcileGracePeriod);
                if (result.Total > 0)
                {
                    logger.LogInformation("Reconciler: {Requeued} lapsed leases re-queued, {Cancelled} cancelled, {Reenqueued} queue entries restored, {Cancels} cancels completed.",
                        result.LapsedRequeued, result.LapsedCancelled, result.Reenqueued, result.CancelsCompleted);
                }
            }
            catch (Exception ex) when (DatabaseErrors.IsTransient(ex))
            {
                logger.LogWarning("Reconciler: database unavailable ({Error}); next pass in {Interval}.", ex.Message, options.Value.ReconcileInterval);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                logger.LogError(ex, "Reconciler pass failed.");
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }
}

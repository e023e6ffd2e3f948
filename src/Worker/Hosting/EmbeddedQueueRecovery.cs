using Infrastructure.Data;
using Infrastructure.Jobs;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Worker.Hosting;

/// <summary>
/// With the in-memory queue of the embedded default, queued work dies with the process. At start-up this
/// hands back every job the database still shows as Running (the process that held its lease is gone: the embedded
/// default is one process) and re-enqueues every unfinished job, so it resumes from its checkpoint.
/// </summary>
internal sealed class EmbeddedQueueRecovery(IServiceScopeFactory scopes, ITrainingQueue queue, ILogger<EmbeddedQueueRecovery> logger)
    : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await using AsyncServiceScope scope = scopes.CreateAsyncScope();
        AppDbContext db = scope.ServiceProvider.GetRequiredService<AppDbContext>();
        await db.Jobs.Where(j => j.Status == JobStatus.Running).ExecuteUpdateAsync(s => s
            .SetProperty(j => j.Status, JobStatus.Queued)
            .SetProperty(j => j.LeaseOwner, (string?)null)
            .SetProperty(j => j.LeaseExpiresAt, (DateTime?)null), cancellationToken);
        List<Job> unfinished = await db.Jobs
            .Where(j => j.Status == JobStatus.Queued)
            .OrderBy(j => j.CreatedAt)
            .ToListAsync(cancellationToken);
        foreach (Job job in unfinished)
        {
            job.QueueJobId = queue.Enqueue(job.Id);
            logger.LogInformation("Re-enqueued unfinished job {JobId} ({Status}, epoch {Epoch}/{Epochs}).", job.Id, job.Status, job.Epoch, job.Epochs);
        }
        await db.SaveChangesAsync(cancellationToken);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

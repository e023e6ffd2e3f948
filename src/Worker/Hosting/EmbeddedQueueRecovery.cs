using Infrastructure.Data;
using Infrastructure.Jobs;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Worker.Hosting;

/// <summary>
/// With the in-memory queue of the embedded default, queued work dies with the process. At start-up this
/// re-enqueues every job the database still shows as Queued or Running, so it resumes from its checkpoint.
/// </summary>
internal sealed class EmbeddedQueueRecovery(IServiceScopeFactory scopes, ITrainingQueue queue, ILogger<EmbeddedQueueRecovery> logger)
    : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await using AsyncServiceScope scope = scopes.CreateAsyncScope();
        AppDbContext db = scope.ServiceProvider.GetRequiredService<AppDbContext>();
        List<Job> unfinished = await db.Jobs
            .Where(j => j.Status == JobStatus.Queued || j.Status == JobStatus.Running)
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

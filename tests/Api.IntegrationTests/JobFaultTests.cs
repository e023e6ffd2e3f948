using Domain.Artifacts;
using Domain.Jobs;
using Domain.Runs;
using Infrastructure.Data;
using Microsoft.AspNetCore.Hosting;

namespace Api.IntegrationTests;

/// <summary>The Api with its in-process worker, with short leases and a fast reconciler so faults resolve in seconds.</summary>
public class FaultApi(StorageProvider provider) : ApiFactory(provider)
{
    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        base.ConfigureWebHost(builder);
        builder.UseSetting("Worker:LeaseDuration", "00:00:08");
        builder.UseSetting("Worker:ReconcileInterval", "00:00:01");
        builder.UseSetting("Worker:ReconcileGracePeriod", "00:00:02");
        builder.UseSetting("Worker:CancelPollInterval", "00:00:00.200");
    }
}

public sealed class SqliteFaultApi() : FaultApi(StorageProvider.Sqlite);

public sealed class PostgresFaultApi() : FaultApi(StorageProvider.Postgres);

/// <summary>
/// Issue 11's reproductions of a job with two would-be owners, a dead owner and a lost queue entry, each against the
/// lease, its fencing token and the reconciler.
/// </summary>
public abstract class JobFaultTests(FaultApi api)
{
    private const int Epochs = 40;

    [Fact]
    public async Task LeaseTakenOver_OldWorkerStopsWithoutWriting_ThenRecoveryFinishesTheJobOnce()
    {
        using HttpClient client = api.CreateClient();
        Guid jobId = await SubmitAsync(client);
        await ApiClient.WaitForJobAsync(client, jobId, j => j.GetProperty("progress").GetProperty("epoch").GetInt32() >= 2, TimeSpan.FromMinutes(2));

        // Another worker takes the job over (as after a pause past the lease): new token, live lease.
        await TakeOverLeaseAsync(jobId, "other-worker", TimeSpan.FromSeconds(8));
        int metricsAtTakeover = await MetricCountAsync(jobId);
        await Task.Delay(2500);

        Job job = await api.WithDbAsync(db => db.Jobs.AsNoTracking().SingleAsync(j => j.Id == jobId));
        // Before leases the old worker kept training and writing, or wrote Queued over the new owner's Running.
        Assert.Equal(JobStatus.Running, job.Status);
        Assert.Equal("other-worker", job.LeaseOwner);
        Assert.Equal(metricsAtTakeover, await MetricCountAsync(jobId));
        Assert.Empty(OrphanCheckpointFiles(await CheckpointPathsAsync(jobId)));

        // "other-worker" never renews: its lease lapses, the reconciler re-queues the job and it finishes, once.
        JsonElement done = await ApiClient.WaitForJobAsync(client, jobId, j => j.Status() is "Succeeded" or "Failed", TimeSpan.FromMinutes(3));
        Assert.Equal("Succeeded", done.Status());
        Assert.Equal(2, done.GetProperty("attempts").GetInt32());
        await AssertOneMetricPerEpochAsync(client, done);
        Assert.DoesNotContain(api.ArtifactFiles(), f => f.Contains("/checkpoints/", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Cancel_RunningJobWhoseWorkerIsGone_CompletesWhenItsLeaseLapses()
    {
        using HttpClient client = api.CreateClient();
        Guid jobId = await SubmitAsync(client);
        await ApiClient.WaitForJobAsync(client, jobId, j => j.GetProperty("progress").GetProperty("epoch").GetInt32() >= 1, TimeSpan.FromMinutes(2));
        // The job now belongs to a worker that died (it will never renew).
        await TakeOverLeaseAsync(jobId, "dead-worker", TimeSpan.FromSeconds(2));

        using HttpResponseMessage cancel = await client.PostAsync($"/api/v1/jobs/{jobId}/cancel", null);
        Assert.Equal(HttpStatusCode.Accepted, cancel.StatusCode);

        // Before: the row stayed Running for ever (cancel only finished Queued jobs at epoch 0).
        JsonElement job = await ApiClient.WaitForJobAsync(client, jobId, j => j.Status() != "Running", TimeSpan.FromSeconds(30));
        Assert.Equal("Cancelled", job.Status());
        Run run = await api.WithDbAsync(db => db.Runs.AsNoTracking().SingleAsync(r => r.JobId == jobId));
        Assert.Equal(RunStatus.Cancelled, run.Status);
    }

    [Fact]
    public async Task QueuedJobWithoutALiveQueueEntry_IsEnqueuedAgainAndTrains()
    {
        using HttpClient client = api.CreateClient();
        Guid datasetId = await ApiClient.UploadDatasetAsync(client);
        string spec = JobSpec.Parse(JsonSerializer.Serialize(ApiClient.JobSpec(datasetId, epochs: 2), ApiClient.Json)).Normalized().ToJson();
        Guid tenantId = await api.WithDbAsync(db => db.Datasets.IgnoreQueryFilters().Where(d => d.Id == datasetId).Select(d => d.TenantId).SingleAsync());
        // A submission that crashed between its commit and the enqueue, one whose queue entry Hangfire gave up on, and
        // one left Running without a lease by a worker of the version before leases.
        Guid[] ids = [Guid.CreateVersion7(), Guid.CreateVersion7(), Guid.CreateVersion7()];
        await api.WithDbAsync(async db =>
        {
            db.Jobs.Add(new Job { Id = ids[0], TenantId = tenantId, DatasetId = datasetId, SpecJson = spec, Epochs = 2, CreatedAt = DateTime.UtcNow.AddMinutes(-5) });
            db.Jobs.Add(new Job { Id = ids[1], TenantId = tenantId, DatasetId = datasetId, SpecJson = spec, Epochs = 2, CreatedAt = DateTime.UtcNow, QueueJobId = "999999999" });
            db.Jobs.Add(new Job
            {
                Id = ids[2], TenantId = tenantId, DatasetId = datasetId, SpecJson = spec, Epochs = 2, CreatedAt = DateTime.UtcNow,
                Status = JobStatus.Running, Attempts = 1, QueueJobId = "999999997",
            });
            return await db.SaveChangesAsync();
        });

        foreach ((Guid id, int attempts) in ids.Zip([1, 1, 2]))
        {
            JsonElement job = await ApiClient.WaitForJobAsync(client, id, j => j.Status() is "Succeeded" or "Failed", TimeSpan.FromMinutes(2));
            Assert.Equal("Succeeded", job.Status());
            Assert.Equal(attempts, job.GetProperty("attempts").GetInt32());
        }
    }

    [Fact]
    public async Task Cancel_QueuedJobHandedBackBetweenAttempts_IsCancelledAtOnce()
    {
        using HttpClient client = api.CreateClient();
        Guid datasetId = await ApiClient.UploadDatasetAsync(client);
        string spec = JobSpec.Parse(JsonSerializer.Serialize(ApiClient.JobSpec(datasetId, epochs: 2), ApiClient.Json)).Normalized().ToJson();
        Guid tenantId = await api.WithDbAsync(db => db.Datasets.IgnoreQueryFilters().Where(d => d.Id == datasetId).Select(d => d.TenantId).SingleAsync());
        var id = Guid.CreateVersion7();
        // Queued at epoch 1 with a queue entry that is not due yet (as between two attempts).
        await api.WithDbAsync(async db =>
        {
            db.Jobs.Add(new Job { Id = id, TenantId = tenantId, DatasetId = datasetId, SpecJson = spec, Epochs = 2, Epoch = 1, Attempts = 1, CreatedAt = DateTime.UtcNow, QueueJobId = "999999998" });
            return await db.SaveChangesAsync();
        });
        using HttpResponseMessage cancel = await client.PostAsync($"/api/v1/jobs/{id}/cancel", null);
        Assert.Equal(HttpStatusCode.Accepted, cancel.StatusCode);
        Assert.Equal("Cancelled", (await client.GetFromJsonAsync<JsonElement>($"/api/v1/jobs/{id}")).Status());
    }

    /// <summary>Another owner takes the job's lease (new fencing token) until <paramref name="lease"/> from now.</summary>
    private Task<int> TakeOverLeaseAsync(Guid jobId, string owner, TimeSpan lease) =>
        api.WithDbAsync(db => db.Jobs.Where(j => j.Id == jobId).ExecuteUpdateAsync(s => s
            .SetProperty(j => j.LeaseToken, j => j.LeaseToken + 1)
            .SetProperty(j => j.LeaseOwner, owner)
            .SetProperty(j => j.LeaseExpiresAt, DateTime.UtcNow + lease)));

    private static async Task<Guid> SubmitAsync(HttpClient client)
    {
        Guid datasetId = await ApiClient.UploadDatasetAsync(client, new IdxBuilder { Samples = 1500, Side = 12, Seed = ApiClient.UniqueSeed() });
        using HttpResponseMessage submitted = await client.PostAsJsonAsync("/api/v1/jobs",
            ApiClient.JobSpec(datasetId, epochs: Epochs, hidden: [128, 64], maxRank: 32, batchSize: 16));
        Assert.Equal(HttpStatusCode.Accepted, submitted.StatusCode);
        return (await submitted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
    }

    private Task<int> MetricCountAsync(Guid jobId) =>
        api.WithDbAsync(db => db.EpochMetrics.CountAsync(m => db.Runs.IgnoreQueryFilters().Any(r => r.Id == m.RunId && r.JobId == jobId)));

    private Task<List<string>> CheckpointPathsAsync(Guid jobId) =>
        api.WithDbAsync(db => db.Artifacts.Where(a => a.JobId == jobId && a.Kind == ArtifactKinds.Checkpoint).Select(a => a.Path).ToListAsync());

    /// <summary>Checkpoint files on disk that no row records.</summary>
    private IEnumerable<string> OrphanCheckpointFiles(List<string> recorded) =>
        api.ArtifactFiles().Where(f => f.Contains("/checkpoints/", StringComparison.Ordinal) && !recorded.Contains(f));

    private static async Task AssertOneMetricPerEpochAsync(HttpClient client, JsonElement job)
    {
        Guid runId = Assert.Single(job.GetProperty("runIds").EnumerateArray()).GetGuid();
        JsonElement run = await client.GetFromJsonAsync<JsonElement>($"/api/v1/runs/{runId}");
        Assert.Equal(Enumerable.Range(1, job.GetProperty("progress").GetProperty("epochs").GetInt32()),
            run.GetProperty("metrics").EnumerateArray().Select(m => m.GetProperty("epoch").GetInt32()));
    }
}

public sealed class SqliteJobFaultTests(SqliteFaultApi api) : JobFaultTests(api), IClassFixture<SqliteFaultApi>;

public sealed class PostgresJobFaultTests(PostgresFaultApi api) : JobFaultTests(api), IClassFixture<PostgresFaultApi>;

/// <summary>The fault Api on PostgreSQL behind a <see cref="TcpProxy"/>; leases long enough to outlast a short outage.</summary>
public sealed class ProxiedFaultApi() : FaultApi(StorageProvider.Postgres)
{
    private TcpProxy? _proxy;

    public TcpProxy Proxy => _proxy ?? throw new InvalidOperationException("The host is not built yet.");

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        base.ConfigureWebHost(builder);
        (_proxy, string proxied) = TcpProxy.InFrontOfPostgres(PostgresConnection!);
        builder.UseSetting("ConnectionStrings:Postgres", proxied);
        builder.UseSetting("Worker:LeaseDuration", "00:01:00");
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        _proxy?.Dispose();
    }
}

public sealed class DatabaseOutageTests(ProxiedFaultApi api) : IClassFixture<ProxiedFaultApi>
{
    [Fact]
    public async Task DatabaseGoneMidTraining_WorkerWaitsAndFinishesInOneAttempt_ApiAnswers503Meanwhile()
    {
        using HttpClient client = api.CreateClient();
        Guid jobId = await SubmitAndWaitForEpochAsync(client, samples: 1500, epochs: 12, untilEpoch: 2);

        api.Proxy.Stop();
        var statuses = new List<HttpStatusCode>();
        try
        {
            for (int i = 0; i < 4; i++)
            {
                using HttpResponseMessage list = await client.GetAsync("/api/v1/jobs");
                statuses.Add(list.StatusCode);
                await Task.Delay(1500);
            }
        }
        finally
        {
            api.Proxy.Start();
        }

        Guid runId = await AssertSucceededInOneAttemptAsync(client, jobId);
        JsonElement run = await client.GetFromJsonAsync<JsonElement>($"/api/v1/runs/{runId}");
        Assert.Equal(Enumerable.Range(1, 12), run.GetProperty("metrics").EnumerateArray().Select(m => m.GetProperty("epoch").GetInt32()));
        Assert.DoesNotContain(api.ArtifactFiles(), f => f.Contains("/checkpoints/", StringComparison.Ordinal));
        // Before: 500 to every request, and the job Running for ever at attempt 1 after Hangfire failed it.
        Assert.All(statuses, s => Assert.Equal(HttpStatusCode.ServiceUnavailable, s));
    }

    [Fact]
    public async Task DatabaseGoneWhileVariantsAreBuilt_WorkerWaitsAndFinishesInOneAttempt()
    {
        using HttpClient client = api.CreateClient();
        // Training is over once the last epoch is recorded; exporting and timing the variants takes seconds after it.
        Guid jobId = await SubmitAndWaitForEpochAsync(client, samples: 600, epochs: 2, untilEpoch: 2);

        api.Proxy.Stop();
        try
        {
            await Task.Delay(4000);
        }
        finally
        {
            api.Proxy.Start();
        }

        // Before: the outage failed the variant step, and Hangfire's retry finished the job as attempt 2.
        Guid runId = await AssertSucceededInOneAttemptAsync(client, jobId);
        JsonElement variants = await client.GetFromJsonAsync<JsonElement>($"/api/v1/runs/{runId}/variants");
        Assert.NotEmpty(variants.GetProperty("devices").EnumerateArray().Single().GetProperty("variants").EnumerateArray());
    }

    private static async Task<Guid> SubmitAndWaitForEpochAsync(HttpClient client, int samples, int epochs, int untilEpoch)
    {
        Guid datasetId = await ApiClient.UploadDatasetAsync(client, new IdxBuilder { Samples = samples, Side = 12, Seed = ApiClient.UniqueSeed() });
        using HttpResponseMessage submitted = await client.PostAsJsonAsync("/api/v1/jobs",
            ApiClient.JobSpec(datasetId, epochs: epochs, hidden: [128, 64], maxRank: 32, batchSize: 16));
        Guid jobId = (await submitted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        await ApiClient.WaitForJobAsync(client, jobId, j => j.GetProperty("progress").GetProperty("epoch").GetInt32() >= untilEpoch, TimeSpan.FromMinutes(2));
        return jobId;
    }

    /// <summary>Waits for the job to finish; it must have succeeded in its first attempt. Returns its run.</summary>
    private static async Task<Guid> AssertSucceededInOneAttemptAsync(HttpClient client, Guid jobId)
    {
        JsonElement job = await ApiClient.WaitForJobAsync(client, jobId, j => j.Status() is "Succeeded" or "Failed", TimeSpan.FromMinutes(3));
        Assert.Equal("Succeeded", job.Status());
        Assert.Equal(1, job.GetProperty("attempts").GetInt32());
        return Assert.Single(job.GetProperty("runIds").EnumerateArray()).GetGuid();
    }
}

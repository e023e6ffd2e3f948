using Infrastructure.Data;
using Infrastructure.Jobs;
using Microsoft.Extensions.DependencyInjection;
using Domain.Jobs;
using Microsoft.AspNetCore.Hosting;

namespace Api.IntegrationTests;

/// <summary>The Api on PostgreSQL without a worker: submissions only queue, so a burst measures the submission path alone.</summary>
public sealed class SubmitOnlyPostgresApi() : ApiFactory(StorageProvider.Postgres)
{
    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        base.ConfigureWebHost(builder);
        builder.UseSetting("Worker:InProcess", "false");
    }
}

/// <summary>
/// Issue 11: 1000 concurrent submissions on PostgreSQL, half racing on one Idempotency-Key and half with their own
/// keys: 0 lost, 0 duplicated, 0 5xx, and every stored job has a queue entry.
/// </summary>
public sealed class ConcurrentSubmissionTests(SubmitOnlyPostgresApi api) : IClassFixture<SubmitOnlyPostgresApi>
{
    [Fact]
    public async Task ThousandConcurrentSubmissions_SameAndDistinctKeys_NoneLostNoneDuplicatedNo5xx()
    {
        using HttpClient client = api.CreateClient();
        Guid datasetId = await ApiClient.UploadDatasetAsync(client);
        string body = JsonSerializer.Serialize(ApiClient.JobSpec(datasetId, epochs: 1), ApiClient.Json);
        const int perKind = 500;
        string sharedKey = $"burst-{Guid.NewGuid():N}";

        var failures = new System.Collections.Concurrent.ConcurrentBag<string>();
        async Task<(HttpStatusCode Status, Guid? Id)> Submit(string key)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/jobs")
            {
                Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json"),
            };
            request.Headers.Add("Idempotency-Key", key);
            using HttpResponseMessage response = await client.SendAsync(request);
            if ((int)response.StatusCode >= 500)
            {
                failures.Add(await response.Content.ReadAsStringAsync());
            }
            Guid? id = response.IsSuccessStatusCode ? (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid() : null;
            return (response.StatusCode, id);
        }

        Task<(HttpStatusCode, Guid?)>[] shared = Enumerable.Range(0, perKind).Select(_ => Task.Run(() => Submit(sharedKey))).ToArray();
        Task<(HttpStatusCode, Guid?)>[] distinct = Enumerable.Range(0, perKind).Select(i => Task.Run(() => Submit($"{sharedKey}-{i}"))).ToArray();
        (HttpStatusCode Status, Guid? Id)[] sharedResults = await Task.WhenAll(shared);
        (HttpStatusCode Status, Guid? Id)[] distinctResults = await Task.WhenAll(distinct);

        var all = sharedResults.Concat(distinctResults).ToList();
        Assert.True(failures.IsEmpty, $"{failures.Count} answers were 5xx; the first: {failures.FirstOrDefault()}");
        // The same key: exactly one job, every answer names it (202 for the first, 200 for the rest).
        Assert.All(sharedResults, r => Assert.True(r.Status is HttpStatusCode.Accepted or HttpStatusCode.OK, r.Status.ToString()));
        Assert.Single(sharedResults.Select(r => r.Id).Distinct());
        Assert.Single(sharedResults, r => r.Status == HttpStatusCode.Accepted);
        // Distinct keys: one job each.
        Assert.All(distinctResults, r => Assert.Equal(HttpStatusCode.Accepted, r.Status));
        Assert.Equal(perKind, distinctResults.Select(r => r.Id).Distinct().Count());

        List<Job> stored = await api.WithDbAsync(db => db.Jobs.AsNoTracking().Where(j => j.IdempotencyKey!.StartsWith(sharedKey)).ToListAsync());
        Assert.Equal(perKind + 1, stored.Count);
        Assert.All(stored, j => Assert.False(string.IsNullOrEmpty(j.QueueJobId), $"job {j.Id} has no queue entry"));
    }
}

/// <summary>
/// Issue 11 (found by the SIGSTOP fault test): a worker paused inside a write transaction held the job row's lock, so
/// the worker taking over waited (30 s, then a timeout) until the paused one resumed.
/// </summary>
public sealed class PausedWriterTests(SubmitOnlyPostgresApi api) : IClassFixture<SubmitOnlyPostgresApi>
{
    [Fact]
    public async Task WriterPausedInsideItsTransaction_DoesNotBlockTheTakeover_AndLosesTheLease()
    {
        using HttpClient client = api.CreateClient();
        Guid datasetId = await ApiClient.UploadDatasetAsync(client);
        using HttpResponseMessage submitted = await client.PostAsJsonAsync("/api/v1/jobs", ApiClient.JobSpec(datasetId, epochs: 1));
        Guid jobId = (await submitted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        var options = new Worker.WorkerOptions { LeaseDuration = TimeSpan.FromSeconds(3), DatabaseOutageTimeout = TimeSpan.FromSeconds(20) };

        await using AsyncServiceScope scopeA = api.Services.CreateAsyncScope();
        AppDbContext dbA = scopeA.ServiceProvider.GetRequiredService<AppDbContext>();
        JobLease leaseA = JobLeases.TryAcquire(dbA, jobId, "worker-a", DateTime.UtcNow, options.LeaseDuration)!;
        Assert.NotNull(leaseA);
        var writer = new Worker.Jobs.JobWriter(dbA, leaseA, options, TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
        using var resume = new ManualResetEventSlim();
        int calls = 0;
        // Worker A "pauses" right after its write transaction locked the job row.
        Task paused = Task.Run(() => writer.Write(_ =>
        {
            if (Interlocked.Increment(ref calls) == 1)
            {
                resume.Wait(TimeSpan.FromSeconds(30));
            }
        }));

        await Task.Delay(options.LeaseDuration + TimeSpan.FromSeconds(0.5));
        await using AsyncServiceScope scopeB = api.Services.CreateAsyncScope();
        AppDbContext dbB = scopeB.ServiceProvider.GetRequiredService<AppDbContext>();
        var stopwatch = System.Diagnostics.Stopwatch.StartNew();
        JobLease? leaseB = JobLeases.TryAcquire(dbB, jobId, "worker-b", DateTime.UtcNow, TimeSpan.FromMinutes(1));
        stopwatch.Stop();
        resume.Set();

        Assert.NotNull(leaseB);
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(3), $"the takeover waited {stopwatch.Elapsed} for the paused writer's lock");
        await Assert.ThrowsAsync<LeaseLostException>(() => paused);
    }
}

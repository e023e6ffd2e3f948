using Domain.Artifacts;
using Domain.Jobs;
using Infrastructure.Data;
using Microsoft.EntityFrameworkCore;

namespace Api.IntegrationTests;

/// <summary>
/// Kills the process that trains a job (SIGKILL) after a few epochs, starts a new one on the same storage
/// and checks that the job resumes from its last checkpoint: one run, every epoch recorded exactly once,
/// and the epochs finished before the kill are not trained again.
/// </summary>
public abstract class CrashResumeTests(StorageProvider provider) : IAsyncLifetime
{
    private const int Epochs = 6;
    private readonly string _dataDirectory = Path.Combine(Path.GetTempPath(), $"tas-crash-{Guid.NewGuid():N}");
    private string? _postgres;

    public async Task InitializeAsync()
    {
        if (provider == StorageProvider.Postgres)
        {
            _postgres = await PostgresServer.CreateDatabaseAsync();
        }
    }

    public async Task DisposeAsync()
    {
        if (_postgres is not null)
        {
            await PostgresServer.DropDatabaseAsync(_postgres);
        }
        if (Directory.Exists(_dataDirectory))
        {
            Directory.Delete(_dataDirectory, recursive: true);
        }
    }

    [Fact]
    public async Task KillWorkerMidTraining_NewProcess_ResumesFromCheckpointWithoutDuplicatedEpochs()
    {
        Dictionary<string, string> settings = Settings();

        Guid jobId;
        int epochAtKill;
        DateTime killedAt;
        using (ApiProcess first = await ApiProcess.StartAsync(settings))
        {
            using HttpClient client = first.CreateClient();
            Guid datasetId = await ApiClient.UploadDatasetAsync(client, new IdxBuilder { Samples = 3000 });
            using HttpResponseMessage submitted = await client.PostAsJsonAsync("/api/v1/jobs",
                ApiClient.JobSpec(datasetId, epochs: Epochs, hidden: [256, 256], maxRank: 64, batchSize: 16));
            jobId = (await submitted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
            JsonElement running = await ApiClient.WaitForJobAsync(client, jobId,
                j => j.GetProperty("progress").GetProperty("epoch").GetInt32() >= 2, TimeSpan.FromMinutes(3));
            first.Kill();
            killedAt = DateTime.UtcNow;
            epochAtKill = running.GetProperty("progress").GetProperty("epoch").GetInt32();
        }
        Assert.True(epochAtKill < Epochs, "the job finished before it could be killed; make it longer");

        using ApiProcess second = await ApiProcess.StartAsync(settings);
        using HttpClient client2 = second.CreateClient();
        JsonElement job = await ApiClient.WaitForJobAsync(client2, jobId, j => j.Status() is "Succeeded" or "Failed", TimeSpan.FromMinutes(4));

        Assert.True(job.Status() == "Succeeded", $"{job}\n{second.Output}");
        Assert.Equal(2, job.GetProperty("attempts").GetInt32());
        Guid runId = Assert.Single(job.GetProperty("runIds").EnumerateArray()).GetGuid();
        JsonElement[] metrics = (await client2.GetFromJsonAsync<JsonElement>($"/api/v1/runs/{runId}"))
            .GetProperty("metrics").EnumerateArray().ToArray();
        Assert.Equal(Enumerable.Range(1, Epochs), metrics.Select(m => m.GetProperty("epoch").GetInt32()));
        Assert.Contains($"resuming after epoch {epochAtKill}", second.Output);

        // Epochs recorded before the kill were kept, not trained again.
        await using AppDbContext db = OpenDb();
        List<DateTime> createdAt = await db.EpochMetrics.Where(m => m.RunId == runId).OrderBy(m => m.Epoch).Select(m => m.CreatedAt).ToListAsync();
        Assert.All(createdAt.Take(epochAtKill), t => Assert.True(t < killedAt));
        Assert.All(createdAt.Skip(epochAtKill), t => Assert.True(t > killedAt));
        JsonElement curve = await client2.GetFromJsonAsync<JsonElement>($"/api/v1/runs/{runId}/curve");
        Assert.True(curve.GetProperty("points").GetArrayLength() >= 4);
    }

    [Fact]
    public async Task Sigterm_FinishesTheEpochAndHandsTheJobBack_NextWorkerFallsBackPastACorruptCheckpoint()
    {
        Dictionary<string, string> settings = Settings();
        settings["Worker:ShutdownTimeout"] = "00:00:20";
        settings["Worker:LeaseDuration"] = "00:00:05";
        const int epochs = 10;
        Guid jobId;
        using (ApiProcess first = await ApiProcess.StartAsync(settings))
        {
            using HttpClient client = first.CreateClient();
            Guid datasetId = await ApiClient.UploadDatasetAsync(client, new IdxBuilder { Samples = 3000 });
            using HttpResponseMessage submitted = await client.PostAsJsonAsync("/api/v1/jobs",
                ApiClient.JobSpec(datasetId, epochs: epochs, hidden: [256, 256], maxRank: 64, batchSize: 16));
            jobId = (await submitted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
            await ApiClient.WaitForJobAsync(client, jobId, j => j.GetProperty("progress").GetProperty("epoch").GetInt32() >= 3, TimeSpan.FromMinutes(3));
            var stopwatch = System.Diagnostics.Stopwatch.StartNew();
            Assert.True(first.Terminate(TimeSpan.FromSeconds(30)), "the worker did not exit within Worker:ShutdownTimeout\n" + first.Output);
            Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(26), $"exit took {stopwatch.Elapsed}");
            Assert.True(first.Output.Contains("handed back to the queue", StringComparison.Ordinal), first.Output);
        }

        Job handedBack;
        List<Artifact> checkpoints;
        await using (AppDbContext db = OpenDb())
        {
            handedBack = await db.Jobs.AsNoTracking().SingleAsync(j => j.Id == jobId);
            checkpoints = await db.Artifacts.AsNoTracking().Where(a => a.JobId == jobId && a.Kind == ArtifactKinds.Checkpoint).OrderBy(a => a.Epoch).ToListAsync();
            int metrics = await db.EpochMetrics.CountAsync(m => db.Runs.Any(r => r.JobId == jobId && r.Id == m.RunId));
            Assert.Equal(handedBack.Epoch, metrics);
        }
        Assert.True(handedBack.Epoch < epochs, "the job finished before SIGTERM; make it longer");
        // Handed back: Queued, no lease, the epoch in flight recorded (a checkpoint for it), two checkpoints kept.
        Assert.Equal(JobStatus.Queued, handedBack.Status);
        Assert.Null(handedBack.LeaseOwner);
        Assert.Equal(2, checkpoints.Count);
        Assert.Equal(handedBack.Epoch, checkpoints[^1].Epoch);

        // The newest checkpoint is damaged on disk: the next worker notices (sha256) and resumes from the one before.
        string newest = Path.Combine(_dataDirectory, "artifacts", checkpoints[^1].Path);
        byte[] bytes = await File.ReadAllBytesAsync(newest);
        bytes[bytes.Length / 2] ^= 0xFF;
        await File.WriteAllBytesAsync(newest, bytes);

        using ApiProcess second = await ApiProcess.StartAsync(settings);
        using HttpClient client2 = second.CreateClient();
        JsonElement job = await ApiClient.WaitForJobAsync(client2, jobId, j => j.Status() is "Succeeded" or "Failed", TimeSpan.FromMinutes(4));
        Assert.True(job.Status() == "Succeeded", $"{job}\n{second.Output}");
        Assert.Contains("fails its sha256 check", second.Output);
        Assert.Contains($"resuming after epoch {checkpoints[0].Epoch}", second.Output);
        Guid runId = Assert.Single(job.GetProperty("runIds").EnumerateArray()).GetGuid();
        JsonElement[] metricRows = (await client2.GetFromJsonAsync<JsonElement>($"/api/v1/runs/{runId}")).GetProperty("metrics").EnumerateArray().ToArray();
        Assert.Equal(Enumerable.Range(1, epochs), metricRows.Select(m => m.GetProperty("epoch").GetInt32()));
    }

    private Dictionary<string, string> Settings()
    {
        var settings = new Dictionary<string, string>
        {
            ["Storage:Provider"] = provider.ToString(),
            ["Storage:DataDirectory"] = _dataDirectory,
            ["Worker:InProcess"] = "true",
            ["Worker:Threads"] = "2",
            ["Worker:LatencyMinRuns"] = "10",
            ["Worker:LatencyMinimumTotal"] = "00:00:00.020",
            // A crashed worker's PostgreSQL queue entry becomes visible to other workers after this.
            ["JobQueue:InvisibilityTimeout"] = "00:00:05",
        };
        if (_postgres is not null)
        {
            settings["ConnectionStrings:Postgres"] = _postgres;
        }
        return settings;
    }

    private AppDbContext OpenDb() => _postgres is not null
        ? new PostgresAppDbContext(new DbContextOptionsBuilder<PostgresAppDbContext>().UseNpgsql(_postgres).Options)
        : new SqliteAppDbContext(new DbContextOptionsBuilder<SqliteAppDbContext>()
            .UseSqlite($"Data Source={Path.Combine(_dataDirectory, "service.db")}").Options);
}

public sealed class SqliteCrashResumeTests() : CrashResumeTests(StorageProvider.Sqlite);

public sealed class PostgresCrashResumeTests() : CrashResumeTests(StorageProvider.Postgres);

using System.Diagnostics;
using Infrastructure.Observability;
using Microsoft.AspNetCore.Hosting;

namespace Api.IntegrationTests;

/// <summary>The production shape: an Api that only enqueues, on PostgreSQL, and a separate worker process.</summary>
public sealed class EnqueueOnlyPostgresApi() : ApiFactory(StorageProvider.Postgres)
{
    /// <summary>The database the worker process must use (the Api's own test database).</summary>
    public string Connection => PostgresConnection ?? throw new InvalidOperationException("not initialised");

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        base.ConfigureWebHost(builder);
        builder.UseSetting("Worker:InProcess", "false");
    }
}

/// <summary>
/// Starts <c>Worker.dll</c> as its own process (as in docker-compose and Kubernetes) and scrapes its listener on
/// <c>Worker:MetricsPort</c>: probes answer, and the epoch and throughput metrics move while it trains a job;
/// the Api's worker registry lists that process with the job.
/// </summary>
public sealed class PostgresWorkerMetricsTests(EnqueueOnlyPostgresApi api) : IClassFixture<EnqueueOnlyPostgresApi>
{
    [Fact]
    public async Task WorkerProcess_WhileTraining_ServesProbesAndMovingEpochMetrics()
    {
        using HttpClient client = api.CreateClient();
        int port = ApiProcess.FreePort();
        using Process worker = StartWorker(port);
        try
        {
            using var scraper = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(30) };
            JsonElement ready = await WaitForWorkerReadyAsync(scraper, worker);
            Assert.Equal("Healthy", ready.GetProperty("entries").GetProperty("hangfire-server").GetProperty("status").GetString());
            Assert.Equal(HttpStatusCode.OK, (await scraper.GetAsync(HealthChecks.LivePath)).StatusCode);

            Guid datasetId = await ApiClient.UploadDatasetAsync(client, new IdxBuilder { Samples = 6000, Side = 16, Seed = ApiClient.UniqueSeed() });
            using HttpResponseMessage submitted = await client.PostAsJsonAsync("/api/v1/jobs", ApiClient.JobSpec(datasetId, epochs: 8, hidden: [256, 128], maxRank: 128));
            Guid jobId = (await submitted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();

            HashSet<double> epochs = [];
            double throughput = 0;
            string metrics = "";
            JsonElement job = default;
            JsonElement? listed = null;
            string registry = "";
            string serverPrefix = $"{Environment.MachineName}:{worker.Id}:".ToLowerInvariant();
            DateTime deadline = DateTime.UtcNow.AddMinutes(3);
            while (DateTime.UtcNow < deadline)
            {
                if (listed is null)
                {
                    // The registry (Api) lists the worker process with the job it trains, read from Hangfire's storage.
                    registry = await client.GetStringAsync("/api/v1/workers");
                    listed = JsonSerializer.Deserialize<JsonElement>(registry).EnumerateArray().Where(w =>
                        w.GetProperty("id").GetString()!.StartsWith(serverPrefix, StringComparison.Ordinal)
                        && w.GetProperty("currentJobs").EnumerateArray().Any(j => j.TryGetProperty("jobId", out JsonElement id) && id.GetGuid() == jobId))
                        .Cast<JsonElement?>().FirstOrDefault();
                }
                metrics = await scraper.GetStringAsync(TelemetryExtensions.MetricsPath);
                if (SqliteObservabilityTests.Sample(metrics, "tas_training_epoch") is double epoch)
                {
                    epochs.Add(epoch);
                }
                throughput = Math.Max(throughput, SqliteObservabilityTests.Sample(metrics, "tas_training_throughput_per_second") ?? 0);
                job = await client.GetFromJsonAsync<JsonElement>($"/api/v1/jobs/{jobId}");
                if (job.Status() is "Succeeded" or "Failed")
                {
                    break;
                }
                await Task.Delay(100);
            }

            Assert.Equal("Succeeded", job.Status());
            Assert.True(listed is not null, $"the registry never showed worker {serverPrefix}… running job {jobId}: {registry}");
            Assert.Equal(["cpu"], listed.Value.GetProperty("devices").EnumerateArray().Select(d => d.GetString()));
            Assert.Equal("busy", listed.Value.GetProperty("status").GetString());
            Assert.Equal(Environment.MachineName, listed.Value.GetProperty("host").GetString());
            Assert.True(epochs.Count >= 2, $"the worker's epoch gauge took {epochs.Count} value(s)\n{metrics}\n{Output(worker)}");
            Assert.True(throughput > 0, metrics);
            // The attempt's duration is recorded when Hangfire finishes performing, just after the job row says Succeeded.
            DateTime recorded = DateTime.UtcNow.AddSeconds(15);
            while (!(metrics = await scraper.GetStringAsync(TelemetryExtensions.MetricsPath)).Contains("tas_job_duration_seconds_count", StringComparison.Ordinal)
                && DateTime.UtcNow < recorded)
            {
                await Task.Delay(250);
            }
            Assert.Contains("tas_job_duration_seconds_count", metrics);
            // The Api reports the fleet's jobs by status from the database.
            string apiMetrics = await api.CreateClient(apiKey: null).GetStringAsync(TelemetryExtensions.MetricsPath);
            Assert.Contains("tas_jobs{", apiMetrics);
        }
        finally
        {
            worker.Kill(entireProcessTree: true);
            await worker.WaitForExitAsync();
        }
    }

    private readonly System.Text.StringBuilder _output = new();

    private string Output(Process _)
    {
        lock (_output)
        {
            return _output.ToString();
        }
    }

    private Process StartWorker(int metricsPort)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            ArgumentList = { Path.Combine(AppContext.BaseDirectory, "Worker.dll") },
            WorkingDirectory = AppContext.BaseDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.Environment["DOTNET_ENVIRONMENT"] = "Testing";
        start.Environment["Storage__Provider"] = "Postgres";
        start.Environment["ConnectionStrings__Postgres"] = api.Connection;
        start.Environment["Storage__DataDirectory"] = api.DataDirectory;
        // The Api migrated this database when it started.
        start.Environment["Storage__MigrateOnStartup"] = "false";
        start.Environment["JobQueue__Schema"] = "hangfire";
        start.Environment["Worker__Device"] = "cpu";
        start.Environment["Worker__Threads"] = "2";
        start.Environment["Worker__LatencyMinRuns"] = "10";
        start.Environment["Worker__LatencyMinimumTotal"] = "00:00:00.020";
        start.Environment["Worker__MetricsPort"] = metricsPort.ToString(System.Globalization.CultureInfo.InvariantCulture);
        Process process = Process.Start(start) ?? throw new InvalidOperationException("could not start Worker.dll");
        DataReceivedEventHandler append = (_, e) =>
        {
            lock (_output)
            {
                _output.AppendLine(e.Data);
            }
        };
        process.OutputDataReceived += append;
        process.ErrorDataReceived += append;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private async Task<JsonElement> WaitForWorkerReadyAsync(HttpClient scraper, Process worker)
    {
        DateTime deadline = DateTime.UtcNow.AddSeconds(90);
        while (true)
        {
            try
            {
                using HttpResponseMessage response = await scraper.GetAsync(HealthChecks.ReadyPath);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return await response.Content.ReadFromJsonAsync<JsonElement>();
                }
            }
            catch (HttpRequestException)
            {
            }
            Assert.False(worker.HasExited || DateTime.UtcNow > deadline, $"the worker did not become ready:\n{Output(worker)}");
            await Task.Delay(250);
        }
    }
}

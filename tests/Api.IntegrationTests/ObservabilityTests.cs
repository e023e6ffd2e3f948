using System.Diagnostics;
using System.Globalization;
using Grpc.Health.V1;
using Grpc.Net.Client;
using Infrastructure.Observability;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using OpenTelemetry;
using OpenTelemetry.Trace;

namespace Api.IntegrationTests;

/// <summary>An Api whose spans also go to an in-memory exporter (a list guarded by a lock), so tests can inspect traces.</summary>
public sealed class TracedSqliteApi() : ApiFactory(StorageProvider.Sqlite)
{
    public List<Activity> Spans { get; } = [];

    public List<Activity> SpansSnapshot()
    {
        lock (Spans)
        {
            return [.. Spans];
        }
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        base.ConfigureWebHost(builder);
        builder.ConfigureTestServices(services =>
            services.ConfigureOpenTelemetryTracerProvider(tracing => tracing.AddProcessor(new SimpleActivityExportProcessor(new LockedExporter(this)))));
    }

    private sealed class LockedExporter(TracedSqliteApi api) : BaseExporter<Activity>
    {
        public override ExportResult Export(in Batch<Activity> batch)
        {
            lock (api.Spans)
            {
                foreach (Activity activity in batch)
                {
                    api.Spans.Add(activity);
                }
            }
            return ExportResult.Success;
        }
    }
}

/// <summary>Health endpoints, the gRPC health service, /metrics while a job trains, and the job's trace.</summary>
public sealed class SqliteObservabilityTests(TracedSqliteApi api) : IClassFixture<TracedSqliteApi>
{
    [Theory]
    [InlineData("/health/live")]
    [InlineData("/healthz")]
    public async Task Live_WithoutApiKey_AnswersHealthyJson(string path)
    {
        using HttpClient client = api.CreateClient(apiKey: null);

        using HttpResponseMessage response = await client.GetAsync(path);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("Healthy", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("status").GetString());
    }

    [Theory]
    [InlineData("/health/ready")]
    [InlineData("/healthz/ready")]
    public async Task Ready_EmbeddedWorker_ReportsDatabaseMigrationsDeviceAndHangfireHeartbeat(string path)
    {
        using HttpClient client = api.CreateClient(apiKey: null);

        JsonElement body = await WaitForReadyAsync(client, path);

        JsonElement entries = body.GetProperty("entries");
        foreach (string check in new[] { "database", "migrations", "torch-device", "hangfire-server" })
        {
            Assert.True(entries.TryGetProperty(check, out JsonElement entry), $"{check} missing: {body}");
            Assert.Equal("Healthy", entry.GetProperty("status").GetString());
        }
        Assert.Equal("cpu", entries.GetProperty("torch-device").GetProperty("data").GetProperty("device").GetString());
    }

    [Fact]
    public async Task GrpcHealth_Check_IsServingWithoutApiKey()
    {
        using GrpcChannel channel = GrpcChannel.ForAddress(api.Server.BaseAddress, new GrpcChannelOptions { HttpHandler = api.CreateGrpcHandler(apiKey: null) });
        using HttpClient client = api.CreateClient(apiKey: null);
        await WaitForReadyAsync(client, HealthChecks.ReadyPath);

        HealthCheckResponse response = await new Health.HealthClient(channel).CheckAsync(new HealthCheckRequest());

        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, response.Status);
    }

    [Fact]
    public async Task Metrics_WhileAJobTrains_EpochAndThroughputMoveAndJobSpanIsChildOfTheSubmittingRequest()
    {
        using HttpClient client = api.CreateClient();
        using HttpClient scraper = api.CreateClient(apiKey: null);
        Guid datasetId = await ApiClient.UploadDatasetAsync(client, new IdxBuilder { Samples = 6000, Side = 16, Seed = ApiClient.UniqueSeed() });

        using HttpResponseMessage submitted = await client.PostAsJsonAsync("/api/v1/jobs", ApiClient.JobSpec(datasetId, epochs: 8, hidden: [256, 128], maxRank: 128));
        Assert.Equal(HttpStatusCode.Accepted, submitted.StatusCode);
        Guid jobId = (await submitted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();

        // Scrape while it trains: the current epoch gauge must take several values and throughput must be positive.
        HashSet<double> epochs = [];
        double throughput = 0;
        string metrics = "";
        DateTime deadline = DateTime.UtcNow.AddMinutes(3);
        while (DateTime.UtcNow < deadline)
        {
            metrics = await scraper.GetStringAsync(TelemetryExtensions.MetricsPath);
            if (Sample(metrics, "tas_training_epoch") is double epoch)
            {
                epochs.Add(epoch);
            }
            throughput = Math.Max(throughput, Sample(metrics, "tas_training_throughput_per_second") ?? 0);
            JsonElement job = await client.GetFromJsonAsync<JsonElement>($"/api/v1/jobs/{jobId}");
            if (job.Status() is "Succeeded" or "Failed")
            {
                Assert.Equal("Succeeded", job.Status());
                break;
            }
            await Task.Delay(100);
        }
        Assert.True(epochs.Count >= 2, $"the epoch gauge took {epochs.Count} value(s): {string.Join(", ", epochs)}\n{metrics}");
        Assert.True(throughput > 0, metrics);
        Assert.True(Sample(metrics, "tas_training_epochs_total") >= 8, metrics);
        Assert.Contains("tas_training_epoch_duration_seconds_bucket", metrics);
        Assert.Contains("tas_jobs{", metrics);
        Assert.Contains("tas_queue_depth", metrics);
        Assert.Contains("http_server_request_duration_seconds", metrics);

        Activity jobSpan = await WaitForSpanAsync(s => s.OperationName == "training.job" && (string?)s.GetTagItem(ServiceTelemetry.JobIdAttribute) == jobId.ToString());
        List<Activity> spans = api.SpansSnapshot();
        Activity request = Assert.Single(spans, s => s.SpanId == jobSpan.ParentSpanId);
        Assert.Equal(ActivityKind.Server, request.Kind);
        Assert.Equal("POST", request.GetTagItem("http.request.method"));
        Assert.Equal("/api/v1/jobs", (request.GetTagItem("http.route") as string)?.TrimEnd('/'));
        Assert.Equal(request.TraceId, jobSpan.TraceId);
        List<Activity> epochSpans = spans.Where(s => s.OperationName == "training.epoch" && s.ParentSpanId == jobSpan.SpanId).ToList();
        Assert.Equal(8, epochSpans.Count);
        // One export, one ONNX verification and one latency measurement per variant (curve point), each a child of the job's span.
        int variants = await api.WithDbAsync(db => db.CurvePoints.CountAsync(c => db.Runs.Any(r => r.Id == c.RunId && r.JobId == jobId)));
        Assert.True(variants > 0);
        foreach (string step in new[] { Worker.Jobs.VariantBuilder.ExportSpan, Worker.Jobs.VariantBuilder.VerifySpan, Worker.Jobs.VariantBuilder.LatencySpan })
        {
            List<Activity> stepSpans = spans.Where(s => s.OperationName == step && s.TraceId == jobSpan.TraceId).ToList();
            Assert.True(stepSpans.Count == variants, $"{step}: {stepSpans.Count} spans for {variants} variants");
            Assert.All(stepSpans, s => Assert.Equal(jobSpan.SpanId, s.ParentSpanId));
            Assert.Equal(variants, stepSpans.Select(s => s.GetTagItem(Worker.Jobs.VariantBuilder.RankFractionAttribute)).Distinct().Count());
        }
        Assert.DoesNotContain(spans, s => s.OperationName == "training.variants");
        Assert.Equal(1, jobSpan.GetTagItem(ServiceTelemetry.AttemptAttribute));
    }

    /// <summary>The value of the first sample of <paramref name="name"/> in Prometheus text format, if any.</summary>
    internal static double? Sample(string metrics, string name)
    {
        foreach (string line in metrics.Split('\n'))
        {
            if (line.StartsWith(name + "{", StringComparison.Ordinal) || line.StartsWith(name + " ", StringComparison.Ordinal))
            {
                string[] parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                // "name{labels} value" or "name{labels} value timestamp"
                int valueIndex = parts.Length >= 3 && long.TryParse(parts[^1], out _) && !parts[^1].Contains('.') ? parts.Length - 2 : parts.Length - 1;
                return double.Parse(parts[valueIndex], CultureInfo.InvariantCulture);
            }
        }
        return null;
    }

    internal static async Task<JsonElement> WaitForReadyAsync(HttpClient client, string path)
    {
        DateTime deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            using HttpResponseMessage response = await client.GetAsync(path);
            JsonElement body = await response.Content.ReadFromJsonAsync<JsonElement>();
            if (response.StatusCode == HttpStatusCode.OK)
            {
                return body;
            }
            Assert.True(DateTime.UtcNow < deadline, $"{path} stayed {response.StatusCode}: {body}");
            await Task.Delay(250);
        }
    }

    private async Task<Activity> WaitForSpanAsync(Func<Activity, bool> match)
    {
        DateTime deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            if (api.SpansSnapshot().FirstOrDefault(match) is { } span)
            {
                return span;
            }
            Assert.True(DateTime.UtcNow < deadline, "span not exported: " + string.Join(", ", api.SpansSnapshot().Select(s => s.OperationName).Distinct()));
            await Task.Delay(100);
        }
    }
}

/// <summary>The Api on PostgreSQL behind a <see cref="TcpProxy"/>, so a test can take the database away.</summary>
public sealed class ProxiedPostgresApi() : ApiFactory(StorageProvider.Postgres)
{
    private TcpProxy? _proxy;

    public TcpProxy Proxy => _proxy ?? throw new InvalidOperationException("The host is not built yet.");

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        base.ConfigureWebHost(builder);
        (_proxy, string proxied) = TcpProxy.InFrontOfPostgres(PostgresConnection!);
        builder.UseSetting("ConnectionStrings:Postgres", proxied);
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        _proxy?.Dispose();
    }
}

public sealed class PostgresHealthTests(ProxiedPostgresApi api) : IClassFixture<ProxiedPostgresApi>
{
    [Fact]
    public async Task Ready_DatabaseStopped_TurnsUnhealthyWhileLiveStaysHealthy_ThenRecovers()
    {
        using HttpClient client = api.CreateClient(apiKey: null);
        await SqliteObservabilityTests.WaitForReadyAsync(client, HealthChecks.ReadyPath);

        api.Proxy.Stop();
        try
        {
            using HttpResponseMessage ready = await client.GetAsync(HealthChecks.ReadyPath);
            using HttpResponseMessage live = await client.GetAsync(HealthChecks.LivePath);

            Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
            JsonElement body = await ready.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal("Unhealthy", body.GetProperty("status").GetString());
            Assert.Equal("Unhealthy", body.GetProperty("entries").GetProperty("database").GetProperty("status").GetString());
            Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        }
        finally
        {
            api.Proxy.Start();
        }
        await SqliteObservabilityTests.WaitForReadyAsync(client, HealthChecks.ReadyPath);
    }
}

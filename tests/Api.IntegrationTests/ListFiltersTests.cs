extern alias sdk;

using System.Globalization;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Net.Client;
using sdk::TrainingService.Sdk;
using V1 = sdk::TrainingService.Sdk.V1;

namespace Api.IntegrationTests;

/// <summary>
/// The list filters of datasets, jobs and runs: creation- and start-time windows (start inclusive, end exclusive)
/// and runs by dataset, over REST, gRPC and the SDK. Items are created one after another, so each window's
/// content is known exactly; the class's tests run one at a time, so no other test adds items meanwhile. Every
/// dataset has its own content (an upload of known content returns the existing dataset).
/// </summary>
public abstract class ListFiltersTests<TApi>(TApi api) : IDisposable where TApi : ApiFactory
{
    private static readonly TimeSpan s_trainingTimeout = TimeSpan.FromMinutes(3);

    private readonly HttpClient _http = api.CreateClient();

    private readonly GrpcChannel _channel = GrpcChannel.ForAddress(api.Server.BaseAddress, new GrpcChannelOptions
    {
        HttpHandler = api.CreateGrpcHandler(),
    });

    public void Dispose()
    {
        _channel.Dispose();
        _http.Dispose();
        GC.SuppressFinalize(this);
    }

    [Fact]
    public async Task ListDatasets_CreatedWindow_RestGrpcAndSdkReturnOnlyDatasetsInside()
    {
        var datasets = new V1.DatasetService.DatasetServiceClient(_channel);
        Guid[] ids = new Guid[3];
        DateTimeOffset[] created = new DateTimeOffset[3];
        for (int i = 0; i < ids.Length; i++)
        {
            await Task.Delay(20);
            ids[i] = await ApiClient.UploadDatasetAsync(_http, new IdxBuilder { Seed = 1000 + i });
            // As stored (PostgreSQL keeps microseconds), so the window ends are exact.
            created[i] = (await datasets.GetDatasetAsync(new V1.GetDatasetRequest { Id = ids[i].ToString() })).CreatedAt.ToDateTimeOffset();
        }
        using TrainingClient client = Client();

        (Guid[] Ids, int Total) window = await RestListAsync($"/api/v1/datasets?createdAfter={Iso(created[1])}&createdBefore={Iso(created[2])}");
        (Guid[] Ids, int Total) since = await RestListAsync($"/api/v1/datasets?createdAfter={Iso(created[1])}");
        (Guid[] Ids, int Total) until = await RestListAsync($"/api/v1/datasets?createdBefore={Iso(created[1])}&limit=500");
        (Guid[] Ids, int Total) noOffset = await RestListAsync(
            $"/api/v1/datasets?createdAfter={created[1].UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff", CultureInfo.InvariantCulture)}");
        (Guid[] Ids, int Total) otherOffset = await RestListAsync($"/api/v1/datasets?createdAfter={Iso(created[1].ToOffset(TimeSpan.FromHours(-5)))}");
        (Guid[] Ids, int Total) empty = await RestListAsync($"/api/v1/datasets?createdAfter={Iso(created[1])}&createdBefore={Iso(created[1])}");
        V1.ListDatasetsResponse grpc = await datasets.ListDatasetsAsync(new V1.ListDatasetsRequest
        {
            CreatedAfter = Timestamp.FromDateTimeOffset(created[1]),
            CreatedBefore = Timestamp.FromDateTimeOffset(created[2]),
        });
        V1.ListDatasetsResponse sdkSince = await client.Datasets.ListAsync(createdAfter: created[1]);
        V1.ListDatasetsResponse sdkPage = await client.Datasets.ListAsync(0, 1, createdAfter: created[0], createdBefore: created[2]);

        AssertListed([ids[1]], window);
        AssertListed([ids[2], ids[1]], since);
        Assert.Contains(ids[0], until.Ids);
        Assert.DoesNotContain(ids[1], until.Ids);
        Assert.DoesNotContain(ids[2], until.Ids);
        Assert.Equal(until.Ids.Length, until.Total);
        AssertListed(since.Ids, noOffset);
        AssertListed(since.Ids, otherOffset);
        AssertListed([], empty);
        Assert.Equal([ids[1].ToString()], grpc.Items.Select(d => d.Id));
        Assert.Equal(1, grpc.Total);
        Assert.Equal([ids[2].ToString(), ids[1].ToString()], sdkSince.Items.Select(d => d.Id));
        Assert.Equal([ids[1].ToString()], sdkPage.Items.Select(d => d.Id));
        Assert.Equal(2, sdkPage.Total);
    }

    [Fact]
    public async Task ListJobs_CreatedWindow_RestGrpcAndSdkReturnOnlyJobsInside()
    {
        var jobs = new V1.JobService.JobServiceClient(_channel);
        Guid dataset = await ApiClient.UploadDatasetAsync(_http, new IdxBuilder { Seed = 1010 });
        Guid[] ids = new Guid[3];
        DateTimeOffset[] created = new DateTimeOffset[3];
        for (int i = 0; i < ids.Length; i++)
        {
            await Task.Delay(20);
            using HttpResponseMessage submitted = await _http.PostAsJsonAsync("/api/v1/jobs", ApiClient.JobSpec(dataset, epochs: 1));
            Assert.Equal(HttpStatusCode.Accepted, submitted.StatusCode);
            ids[i] = (await submitted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
            created[i] = (await jobs.GetJobAsync(new V1.GetJobRequest { Id = ids[i].ToString() })).CreatedAt.ToDateTimeOffset();
        }
        using TrainingClient client = Client();

        (Guid[] Ids, int Total) window = await RestListAsync($"/api/v1/jobs?createdAfter={Iso(created[1])}&createdBefore={Iso(created[2])}");
        (Guid[] Ids, int Total) byDataset = await RestListAsync($"/api/v1/jobs?datasetId={dataset}&createdAfter={Iso(created[1])}");
        (Guid[] Ids, int Total) otherDataset = await RestListAsync($"/api/v1/jobs?datasetId={Guid.CreateVersion7()}&createdAfter={Iso(created[0])}");
        V1.ListJobsResponse grpc = await jobs.ListJobsAsync(new V1.ListJobsRequest
        {
            DatasetId = dataset.ToString(),
            CreatedAfter = Timestamp.FromDateTimeOffset(created[0]),
            CreatedBefore = Timestamp.FromDateTimeOffset(created[2]),
        });
        V1.ListJobsResponse sdk = await client.Jobs.ListAsync(datasetId: dataset, createdBefore: created[1]);
        foreach (Guid id in ids)
        {
            await ApiClient.WaitForJobAsync(_http, id, j => j.Status() is "Succeeded" or "Failed" or "Cancelled", s_trainingTimeout);
        }
        V1.ListJobsResponse finished = await client.Jobs.ListAsync(V1.JobStatus.Succeeded, dataset, createdAfter: created[2]);

        AssertListed([ids[1]], window);
        AssertListed([ids[2], ids[1]], byDataset);
        AssertListed([], otherDataset);
        Assert.Equal([ids[1].ToString(), ids[0].ToString()], grpc.Items.Select(j => j.Id));
        Assert.Equal([ids[0].ToString()], sdk.Items.Select(j => j.Id));
        Assert.Equal([ids[2].ToString()], finished.Items.Select(j => j.Id));
    }

    [Fact]
    public async Task ListRuns_DatasetAndStartedWindow_RestGrpcAndSdkReturnOnlyMatchingRuns()
    {
        var runs = new V1.RunService.RunServiceClient(_channel);
        Guid a = await ApiClient.UploadDatasetAsync(_http, new IdxBuilder { Seed = 1020 });
        Guid b = await ApiClient.UploadDatasetAsync(_http, new IdxBuilder { Seed = 1021 });
        // One job at a time, so the runs start in this order: a, b, a again.
        Guid runA1 = await TrainAsync(a), runB = await TrainAsync(b), runA2 = await TrainAsync(a);
        DateTimeOffset startedA1 = await StartedAsync(runA1), startedB = await StartedAsync(runB), startedA2 = await StartedAsync(runA2);
        using TrainingClient client = Client();

        (Guid[] Ids, int Total) ofA = await RestListAsync($"/api/v1/runs?datasetId={a}");
        (Guid[] Ids, int Total) ofB = await RestListAsync($"/api/v1/runs?datasetId={b}&status=Succeeded");
        (Guid[] Ids, int Total) ofAAfterB = await RestListAsync($"/api/v1/runs?datasetId={a}&startedAfter={Iso(startedB)}");
        (Guid[] Ids, int Total) window = await RestListAsync($"/api/v1/runs?startedAfter={Iso(startedA1)}&startedBefore={Iso(startedA2)}");
        (Guid[] Ids, int Total) unknown = await RestListAsync($"/api/v1/runs?datasetId={Guid.CreateVersion7()}");
        V1.ListRunsResponse grpc = await runs.ListRunsAsync(new V1.ListRunsRequest
        {
            DatasetId = a.ToString(),
            StartedBefore = Timestamp.FromDateTimeOffset(startedA2),
        });
        V1.ListRunsResponse sdk = await client.Runs.ListAsync(datasetId: a, startedAfter: startedB);
        V1.ListRunsResponse sdkWindow = await client.Runs.ListAsync(startedAfter: startedA1, startedBefore: startedB);

        AssertListed([runA2, runA1], ofA);
        AssertListed([runB], ofB);
        AssertListed([runA2], ofAAfterB);
        AssertListed([runB, runA1], window);
        AssertListed([], unknown);
        Assert.Equal([runA1.ToString()], grpc.Items.Select(r => r.Id));
        Assert.Equal([runA2.ToString()], sdk.Items.Select(r => r.Id));
        Assert.Equal([runA1.ToString()], sdkWindow.Items.Select(r => r.Id));
    }

    public static TheoryData<string, string> ReversedWindows() => new()
    {
        { "/api/v1/datasets?createdAfter=2026-02-01T00:00:00Z&createdBefore=2026-01-01T00:00:00Z", "createdBefore" },
        { "/api/v1/jobs?createdAfter=2026-02-01T00:30:00%2B01:00&createdBefore=2026-01-31T23:00:00Z", "createdBefore" },
        { "/api/v1/runs?startedAfter=2026-01-01T00:00:00.0000001Z&startedBefore=2026-01-01T00:00:00Z", "startedBefore" },
    };

    [Theory]
    [MemberData(nameof(ReversedWindows))]
    public async Task RestList_StartAfterEnd_Returns400NamingTheEnd(string path, string field)
    {
        using HttpResponseMessage response = await _http.GetAsync(path);
        using HttpResponseMessage withBadLimit = await _http.GetAsync(path + "&limit=0");

        await ApiClient.AssertProblemAsync(response, HttpStatusCode.BadRequest, field);
        // Every violation at once: the paging one and the window's.
        await ApiClient.AssertProblemAsync(withBadLimit, HttpStatusCode.BadRequest, "limit");
        JsonElement errors = (await withBadLimit.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors");
        Assert.True(errors.TryGetProperty(field, out _), errors.ToString());
    }

    [Theory]
    [InlineData("/api/v1/datasets?createdAfter=yesterday")]
    [InlineData("/api/v1/jobs?createdBefore=2026-13-01T00:00:00Z")]
    [InlineData("/api/v1/runs?datasetId=not-a-uuid")]
    public async Task RestList_MalformedFilter_Returns400(string path)
    {
        using HttpResponseMessage response = await _http.GetAsync(path);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task GrpcAndSdkList_StartAfterEnd_InvalidArgumentNamingTheEnd()
    {
        var datasets = new V1.DatasetService.DatasetServiceClient(_channel);
        var jobs = new V1.JobService.JobServiceClient(_channel);
        var runs = new V1.RunService.RunServiceClient(_channel);
        var later = new DateTimeOffset(2026, 2, 1, 0, 0, 0, TimeSpan.Zero);
        var earlier = later.AddTicks(-10);
        using TrainingClient client = Client();

        AssertFieldViolation(await Assert.ThrowsAsync<RpcException>(() => datasets.ListDatasetsAsync(new V1.ListDatasetsRequest
        {
            CreatedAfter = Timestamp.FromDateTimeOffset(later),
            CreatedBefore = Timestamp.FromDateTimeOffset(earlier),
        }).ResponseAsync), "createdBefore");
        AssertFieldViolation(await Assert.ThrowsAsync<RpcException>(() => jobs.ListJobsAsync(new V1.ListJobsRequest
        {
            CreatedAfter = Timestamp.FromDateTimeOffset(later),
            CreatedBefore = Timestamp.FromDateTimeOffset(earlier),
        }).ResponseAsync), "createdBefore");
        AssertFieldViolation(await Assert.ThrowsAsync<RpcException>(() => runs.ListRunsAsync(new V1.ListRunsRequest
        {
            StartedAfter = Timestamp.FromDateTimeOffset(later),
            StartedBefore = Timestamp.FromDateTimeOffset(earlier),
        }).ResponseAsync), "startedBefore");
        AssertFieldViolation(await Assert.ThrowsAsync<RpcException>(() => client.Datasets.ListAsync(createdAfter: later, createdBefore: earlier)), "createdBefore");
        AssertFieldViolation(await Assert.ThrowsAsync<RpcException>(() => client.Jobs.ListAsync(createdAfter: later, createdBefore: earlier)), "createdBefore");
        AssertFieldViolation(await Assert.ThrowsAsync<RpcException>(() => client.Runs.ListAsync(startedAfter: later, startedBefore: earlier)), "startedBefore");
        AssertFieldViolation(await Assert.ThrowsAsync<RpcException>(() => runs.ListRunsAsync(new V1.ListRunsRequest { DatasetId = "x" }).ResponseAsync), "datasetId");
        AssertFieldViolation(await Assert.ThrowsAsync<RpcException>(() => datasets.ListDatasetsAsync(new V1.ListDatasetsRequest
        {
            CreatedAfter = new Timestamp { Seconds = long.MaxValue },
        }).ResponseAsync), "createdAfter");
        V1.ListRunsResponse equalEnds = await client.Runs.ListAsync(startedAfter: later, startedBefore: later);
        Assert.Empty(equalEnds.Items);
    }

    private TrainingClient Client() => TrainingClient.Create(api.Server.BaseAddress, new TrainingClientOptions { HttpHandler = api.CreateGrpcHandler() });

    /// <summary>Trains a one-epoch job on the dataset to the end and returns its run.</summary>
    private async Task<Guid> TrainAsync(Guid datasetId)
    {
        using HttpResponseMessage submitted = await _http.PostAsJsonAsync("/api/v1/jobs", ApiClient.JobSpec(datasetId, epochs: 1));
        Guid jobId = (await submitted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        JsonElement job = await ApiClient.WaitForJobAsync(_http, jobId, j => j.Status() is "Succeeded" or "Failed" or "Cancelled", s_trainingTimeout);
        Assert.True(job.Status() == "Succeeded", job.ToString());
        return job.GetProperty("runIds")[0].GetGuid();
    }

    private async Task<DateTimeOffset> StartedAsync(Guid runId) =>
        (await new V1.RunService.RunServiceClient(_channel).GetRunAsync(new V1.GetRunRequest { Id = runId.ToString() })).StartedAt.ToDateTimeOffset();

    private async Task<(Guid[] Ids, int Total)> RestListAsync(string path)
    {
        using HttpResponseMessage response = await _http.GetAsync(path);
        string body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{path}: {(int)response.StatusCode} {body}");
        JsonElement page = JsonDocument.Parse(body).RootElement;
        return (page.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("id").GetGuid()).ToArray(), page.GetProperty("total").GetInt32());
    }

    /// <summary>ISO-8601 with 100 ns precision and the offset, escaped for a query string ('+' would read as a space).</summary>
    private static string Iso(DateTimeOffset value) => Uri.EscapeDataString(value.ToString("O", CultureInfo.InvariantCulture));

    private static void AssertListed(Guid[] expected, (Guid[] Ids, int Total) actual)
    {
        Assert.Equal(expected, actual.Ids);
        Assert.Equal(expected.Length, actual.Total);
    }

    private static void AssertFieldViolation(RpcException error, string field)
    {
        Assert.True(error.StatusCode == StatusCode.InvalidArgument, error.ToString());
        string[] fields = error.FieldViolations().Select(v => v.Field).ToArray();
        Assert.True(fields.Contains(field), $"expected a violation of '{field}', got [{string.Join(", ", fields)}]: {error.Status.Detail}");
    }
}

public sealed class SqliteListFiltersTests(SqliteApi api) : ListFiltersTests<SqliteApi>(api), IClassFixture<SqliteApi>;

public sealed class PostgresListFiltersTests(PostgresApi api) : ListFiltersTests<PostgresApi>(api), IClassFixture<PostgresApi>;

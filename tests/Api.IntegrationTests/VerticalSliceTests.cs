using System.Net.Http.Headers;
using System.Text;

namespace Api.IntegrationTests;

/// <summary>Upload → train → metrics → curve through the real Api, Hangfire server and TorchSharp worker.</summary>
public abstract class VerticalSliceTests<TApi>(TApi api) where TApi : ApiFactory
{
    [Fact]
    public async Task TrainJob_TinyIdxDataset_RecordsEveryEpochAndCurveAboveChance()
    {
        HttpClient client = api.CreateClient();
        Guid datasetId = await ApiClient.UploadDatasetAsync(client);

        using HttpResponseMessage submitted = await client.PostAsJsonAsync("/api/v1/jobs", ApiClient.JobSpec(datasetId, epochs: 3));
        Assert.Equal(HttpStatusCode.Accepted, submitted.StatusCode);
        JsonElement queued = await submitted.Content.ReadFromJsonAsync<JsonElement>();
        Guid jobId = queued.GetProperty("id").GetGuid();
        Assert.Equal($"/api/v1/jobs/{jobId}", submitted.Headers.Location?.OriginalString);

        JsonElement job = await ApiClient.WaitForJobAsync(client, jobId, j => j.Status() is "Succeeded" or "Failed" or "Cancelled", TimeSpan.FromMinutes(3));
        Assert.True(job.Status() == "Succeeded", job.ToString());
        Assert.Equal(3, job.GetProperty("progress").GetProperty("epoch").GetInt32());
        Assert.Equal(3, job.GetProperty("progress").GetProperty("epochs").GetInt32());
        Guid runId = Assert.Single(job.GetProperty("runIds").EnumerateArray()).GetGuid();

        JsonElement run = await client.GetFromJsonAsync<JsonElement>($"/api/v1/runs/{runId}");
        int[] epochs = run.GetProperty("metrics").EnumerateArray().Select(m => m.GetProperty("epoch").GetInt32()).ToArray();
        Assert.Equal([1, 2, 3], epochs);
        Assert.All(run.GetProperty("metrics").EnumerateArray(), m =>
        {
            Assert.InRange(m.GetProperty("testAccuracy").GetDouble(), 0, 1);
            Assert.True(double.IsFinite(m.GetProperty("trainLoss").GetDouble()));
        });

        JsonElement curve = await client.GetFromJsonAsync<JsonElement>($"/api/v1/runs/{runId}/curve");
        JsonElement[] points = curve.GetProperty("points").EnumerateArray().ToArray();
        Assert.True(points.Length >= 4, curve.ToString());
        double[] fractions = points.Select(p => p.GetProperty("rankFraction").GetDouble()).ToArray();
        Assert.Equal(fractions.Order().ToArray(), fractions);
        Assert.Equal(1.0, fractions[^1], 6);
        Assert.All(points, p => Assert.InRange(p.GetProperty("accuracy").GetDouble(), 0, 1));
        // Four balanced classes: chance is 0.25.
        Assert.True(points[^1].GetProperty("accuracy").GetDouble() > 0.6, curve.ToString());
        long[] parameters = points.Select(p => p.GetProperty("parameters").GetInt64()).ToArray();
        Assert.Equal(parameters.Order().ToArray(), parameters);
        Assert.True(parameters[0] < parameters[^1]);

        // Metadata landed in the database; checkpoints were cleaned up, the model stored once, one ONNX and one
        // TorchSharp export per curve point.
        (int metrics, int curvePoints, string[] kinds) = await api.WithDbAsync(async db => (
            await db.EpochMetrics.CountAsync(m => m.RunId == runId),
            await db.CurvePoints.CountAsync(c => c.RunId == runId),
            await db.Artifacts.Where(a => a.RunId == runId).Select(a => a.Kind).ToArrayAsync()));
        Assert.Equal(3, metrics);
        Assert.Equal(points.Length, curvePoints);
        Assert.Equal(1, kinds.Count(k => k == "model"));
        Assert.Equal(points.Length, kinds.Count(k => k == "variant-onnx"));
        Assert.Equal(points.Length, kinds.Count(k => k == "variant-torchsharp"));
        Assert.DoesNotContain("checkpoint", kinds);
    }

    [Fact]
    public async Task SubmitJob_SvdBaselineOnLowRankModel_CountsTheBaselineStageFromSubmissionToTheEnd()
    {
        // Arrange: one epoch of Maestro and, per the stage plan, one of the dense baseline.
        HttpClient client = api.CreateClient();
        Guid datasetId = await ApiClient.UploadDatasetAsync(client);
        var spec = new
        {
            datasetId,
            model = new { kind = "mlp", hidden = new[] { 16 }, maxRank = 8 },
            training = new { epochs = 1, batchSize = 32, learningRate = 0.01, seed = 1 },
            sweep = new { rankFractions = new[] { 0.5, 1.0 }, svdBaseline = true },
        };

        // Act
        using HttpResponseMessage submitted = await client.PostAsJsonAsync("/api/v1/jobs", spec);

        // Assert: the Api reports both stages right away, the stored spec has the resolved defaults, and the
        // worker's count agrees with it to the end.
        Assert.Equal(HttpStatusCode.Accepted, submitted.StatusCode);
        JsonElement queued = await submitted.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(2, queued.GetProperty("progress").GetProperty("epochs").GetInt32());
        JsonElement stored = queued.GetProperty("spec");
        Assert.Equal("last", stored.GetProperty("training").GetProperty("modelSelection").GetString());
        Assert.Equal(0, stored.GetProperty("maestro").GetProperty("denseWarmupEpochs").GetInt32());
        Guid jobId = queued.GetProperty("id").GetGuid();
        JsonElement job = await ApiClient.WaitForJobAsync(client, jobId, j => j.Status() is "Succeeded" or "Failed" or "Cancelled", TimeSpan.FromMinutes(2));
        Assert.True(job.Status() == "Succeeded", job.ToString());
        Assert.Equal(2, job.GetProperty("progress").GetProperty("epoch").GetInt32());
        Assert.Equal(2, job.GetProperty("progress").GetProperty("epochs").GetInt32());
        Guid runId = Assert.Single(job.GetProperty("runIds").EnumerateArray()).GetGuid();
        JsonElement run = await client.GetFromJsonAsync<JsonElement>($"/api/v1/runs/{runId}");
        Assert.Equal(["maestro", "dense-baseline"], run.GetProperty("metrics").EnumerateArray().Select(m => m.GetProperty("stage").GetString()));
    }

    [Fact]
    public async Task SubmitJob_RepeatedIdempotencyKey_ReturnsFirstJobAndRefusesOtherBody()
    {
        HttpClient client = api.CreateClient();
        Guid datasetId = await ApiClient.UploadDatasetAsync(client);
        string key = Guid.NewGuid().ToString();

        async Task<HttpResponseMessage> SubmitAsync(object spec)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/jobs") { Content = JsonContent.Create(spec) };
            request.Headers.Add("Idempotency-Key", key);
            return await client.SendAsync(request);
        }

        using HttpResponseMessage first = await SubmitAsync(ApiClient.JobSpec(datasetId, epochs: 1));
        using HttpResponseMessage again = await SubmitAsync(ApiClient.JobSpec(datasetId, epochs: 1));
        using HttpResponseMessage other = await SubmitAsync(ApiClient.JobSpec(datasetId, epochs: 2));

        Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Guid firstId = (await first.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        Assert.Equal(firstId, (await again.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid());
        Assert.Equal(HttpStatusCode.Conflict, other.StatusCode);
        Assert.Equal(1, await api.WithDbAsync(db => db.Jobs.CountAsync(j => j.IdempotencyKey == key)));
        await ApiClient.WaitForJobAsync(client, firstId, j => j.Status() == "Succeeded", TimeSpan.FromMinutes(2));
    }

    [Fact]
    public async Task CancelJob_WhileRunning_StopsWithinSecondsAndKeepsEpochsSoFar()
    {
        HttpClient client = api.CreateClient();
        Guid datasetId = await ApiClient.UploadDatasetAsync(client, new IdxBuilder { Samples = 2000 });
        using HttpResponseMessage submitted = await client.PostAsJsonAsync("/api/v1/jobs",
            ApiClient.JobSpec(datasetId, epochs: 500, hidden: [256, 256], maxRank: 64, batchSize: 16));
        Guid jobId = (await submitted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        await ApiClient.WaitForJobAsync(client, jobId, j => j.GetProperty("progress").GetProperty("epoch").GetInt32() >= 1, TimeSpan.FromMinutes(2));

        DateTime cancelledAt = DateTime.UtcNow;
        using HttpResponseMessage cancel = await client.PostAsync($"/api/v1/jobs/{jobId}/cancel", null);
        Assert.Equal(HttpStatusCode.Accepted, cancel.StatusCode);
        JsonElement job = await ApiClient.WaitForJobAsync(client, jobId, j => j.Status() == "Cancelled", TimeSpan.FromSeconds(15));

        Assert.True(DateTime.UtcNow - cancelledAt < TimeSpan.FromSeconds(15));
        Assert.True(job.GetProperty("progress").GetProperty("epoch").GetInt32() < 500);
        using HttpResponseMessage again = await client.PostAsync($"/api/v1/jobs/{jobId}/cancel", null);
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
    }

    public static TheoryData<string, string> BadDatasets() => new()
    {
        { "missing-labels", "labels" },
        { "missing-name", "name" },
        { "wrong-magic", "images" },
        { "truncated-images", "images" },
        { "truncated-header", "labels" },
        { "count-mismatch", "labels" },
        { "single-class", "labels" },
        { "bad-gzip", "images" },
        { "unknown-format", "format" },
    };

    [Theory]
    [MemberData(nameof(BadDatasets))]
    public async Task UploadDataset_BadInput_Returns400NamingFieldAndLeavesNothing(string kind, string field)
    {
        HttpClient client = api.CreateClient();
        (byte[] images, byte[] labels) = new IdxBuilder { Samples = 40 }.Build();
        ApiFactory.StoredState before = await api.StoredStateAsync();

        MultipartFormDataContent form = kind switch
        {
            "missing-labels" => ApiClient.DatasetForm("bad", images, null),
            "missing-name" => ApiClient.DatasetForm(null, images, labels),
            "wrong-magic" => ApiClient.DatasetForm("bad", [0x12, 0x34, .. images[2..]], labels),
            "truncated-images" => ApiClient.DatasetForm("bad", images[..^10], labels),
            "truncated-header" => ApiClient.DatasetForm("bad", images, labels[..6]),
            "count-mismatch" => ApiClient.DatasetForm("bad", images, IdxBuilder.Encode(new byte[39], 39)),
            "single-class" => ApiClient.DatasetForm("bad", images, IdxBuilder.Encode(new byte[40], 40)),
            "bad-gzip" => ApiClient.DatasetForm("bad", [0x1f, 0x8b, 0x08, 0, 1, 2, 3], labels),
            "unknown-format" => ApiClient.DatasetForm("bad", images, labels, format: "parquet"),
            _ => throw new ArgumentOutOfRangeException(nameof(kind)),
        };
        using HttpResponseMessage response = await client.PostAsync("/api/v1/datasets", form);

        await ApiClient.AssertProblemAsync(response, HttpStatusCode.BadRequest, field);
        Assert.Equal(before, await api.StoredStateAsync());
    }

    public static TheoryData<string, string> BadJobs() => new()
    {
        { """{"datasetId":"00000000-0000-0000-0000-000000000001","model":{"kind":"mlp","hidden":[8]},"training":{"epochs":1}}""", "datasetId" },
        { """{"datasetId":"$DATASET","model":{"kind":"mlp","hidden":[8]},"training":{"epochs":-1}}""", "training.epochs" },
        { """{"datasetId":"$DATASET","model":{"kind":"mlp","hidden":[8]},"training":{"batchSize":0}}""", "training.batchSize" },
        { """{"datasetId":"$DATASET","model":{"kind":"transformer","hidden":[8]}}""", "model.kind" },
        { """{"datasetId":"$DATASET","model":{"kind":"mlp","hidden":[8],"maxRank":500}}""", "model.maxRank" },
        { """{"datasetId":"$DATASET","training":{"learningRate":"fast"}}""", "training.learningRate" },
        { """{"datasetId":"$DATASET","trainng":{}}""", "trainng" },
        { """{"datasetId":"$DATASET","coTeaching":{}}""", "coTeaching.forgetRate" },
        { "not json", "body" },
    };

    [Theory]
    [MemberData(nameof(BadJobs))]
    public async Task SubmitJob_BadSpec_Returns400NamingFieldAndCreatesNoJob(string body, string field)
    {
        HttpClient client = api.CreateClient();
        Guid datasetId = await api.WithDbAsync(db => db.Datasets.Select(d => d.Id).FirstOrDefaultAsync());
        if (datasetId == Guid.Empty)
        {
            datasetId = await ApiClient.UploadDatasetAsync(client);
        }
        int jobsBefore = await api.WithDbAsync(db => db.Jobs.CountAsync());

        using var content = new StringContent(body.Replace("$DATASET", datasetId.ToString()), Encoding.UTF8, new MediaTypeHeaderValue("application/json"));
        using HttpResponseMessage response = await client.PostAsync("/api/v1/jobs", content);

        await ApiClient.AssertProblemAsync(response, HttpStatusCode.BadRequest, field);
        Assert.Equal(jobsBefore, await api.WithDbAsync(db => db.Jobs.CountAsync()));
    }

    [Theory]
    [InlineData("/api/v1/jobs/0197a0c0-0000-7000-8000-000000000000")]
    [InlineData("/api/v1/runs/0197a0c0-0000-7000-8000-000000000000")]
    [InlineData("/api/v1/runs/0197a0c0-0000-7000-8000-000000000000/curve")]
    [InlineData("/api/v1/datasets/0197a0c0-0000-7000-8000-000000000000")]
    public async Task Get_UnknownId_Returns404Problem(string path)
    {
        using HttpResponseMessage response = await api.CreateClient().GetAsync(path);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }
}

public sealed class SqliteVerticalSliceTests(SqliteApi api) : VerticalSliceTests<SqliteApi>(api), IClassFixture<SqliteApi>;

public sealed class PostgresVerticalSliceTests(PostgresApi api) : VerticalSliceTests<PostgresApi>(api), IClassFixture<PostgresApi>;

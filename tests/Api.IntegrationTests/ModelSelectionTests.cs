extern alias sdk;

using sdk::TrainingService.Sdk;
using SdkRun = sdk::TrainingService.Sdk.V1.Run;

namespace Api.IntegrationTests;

/// <summary>
/// Which epoch a finished run shipped and why, as the Api reports it over REST and the SDK over gRPC: chosen on a
/// validation split of the noisy training labels when the labels may be noisy, the last epoch otherwise.
/// </summary>
public abstract class ModelSelectionTests<TApi>(TApi api) where TApi : ApiFactory
{
    private static readonly TimeSpan s_trainingTimeout = TimeSpan.FromMinutes(3);

    [Fact]
    public async Task TrainJob_CoTeachingOnNoisyLabels_ShipsTheBestValidationEpochAndSaysSo()
    {
        // Arrange: synthetic noise and co-teaching, so model selection defaults to best-validation.
        HttpClient client = api.CreateClient();
        Guid datasetId = await ApiClient.UploadDatasetAsync(client);
        var spec = new
        {
            datasetId,
            model = new { kind = "mlp", hidden = new[] { 32 }, maxRank = 16 },
            training = new { epochs = 3, batchSize = 32, learningRate = 0.01, seed = 1 },
            noise = new { kind = "symmetric", rate = 0.2, seed = 1 },
            coTeaching = new { gradualEpochs = 2 },
        };

        // Act
        (int epochs, JsonElement run, SdkRun sdkRun) = await TrainAsync(client, spec);

        // Assert: the shipped model was scored on the validation split, and no epoch's first network beat it there.
        Assert.Equal("best-validation", run.GetProperty("modelSelection").GetString());
        int shipped = run.GetProperty("shippedEpoch").GetInt32();
        Assert.InRange(shipped, 1, epochs);
        double validation = run.GetProperty("validationAccuracy").GetDouble();
        Assert.InRange(validation, 0, 1);
        JsonElement[] metrics = run.GetProperty("metrics").EnumerateArray().ToArray();
        Assert.Equal(epochs, metrics.Length);
        double[] perEpoch = metrics.Select(m => m.TryGetProperty("validationAccuracy", out JsonElement v) ? v.GetDouble() : double.NaN).ToArray();
        Assert.All(perEpoch, v => Assert.InRange(v, 0, 1));
        Assert.All(perEpoch, v => Assert.True(v <= validation + 1e-12, $"an epoch scored {v} on validation, above the shipped model's {validation}: {run}"));

        Assert.Equal("best-validation", sdkRun.ModelSelection);
        Assert.Equal(shipped, sdkRun.ShippedEpoch);
        Assert.Equal(validation, sdkRun.ValidationAccuracy);
        Assert.Equal(perEpoch, sdkRun.Metrics.Select(m => m.HasValidationAccuracy ? m.ValidationAccuracy : double.NaN));
    }

    [Fact]
    public async Task TrainJob_PlainLowRank_ShipsTheLastEpochWithoutValidationSplit()
    {
        // Arrange: clean labels and no noisy-label method, so model selection defaults to last.
        HttpClient client = api.CreateClient();
        Guid datasetId = await ApiClient.UploadDatasetAsync(client);

        // Act
        (int epochs, JsonElement run, SdkRun sdkRun) = await TrainAsync(client, ApiClient.JobSpec(datasetId, epochs: 2));

        // Assert
        Assert.Equal("last", run.GetProperty("modelSelection").GetString());
        Assert.Equal(epochs, run.GetProperty("shippedEpoch").GetInt32());
        Assert.False(run.TryGetProperty("validationAccuracy", out _), run.ToString());
        Assert.All(run.GetProperty("metrics").EnumerateArray(), m => Assert.False(m.TryGetProperty("validationAccuracy", out _), m.ToString()));

        Assert.Equal("last", sdkRun.ModelSelection);
        Assert.Equal(epochs, sdkRun.ShippedEpoch);
        Assert.False(sdkRun.HasValidationAccuracy);
        Assert.All(sdkRun.Metrics, m => Assert.False(m.HasValidationAccuracy));
    }

    /// <summary>Submits <paramref name="spec"/>, waits for success and returns the job's epoch total and its run over REST and the SDK.</summary>
    private async Task<(int Epochs, JsonElement Run, SdkRun SdkRun)> TrainAsync(HttpClient client, object spec)
    {
        using HttpResponseMessage submitted = await client.PostAsJsonAsync("/api/v1/jobs", spec);
        Assert.True(submitted.StatusCode == HttpStatusCode.Accepted, await submitted.Content.ReadAsStringAsync());
        Guid jobId = (await submitted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        JsonElement job = await ApiClient.WaitForJobAsync(client, jobId, j => j.Status() is "Succeeded" or "Failed" or "Cancelled", s_trainingTimeout);
        Assert.True(job.Status() == "Succeeded", job.ToString());
        int epochs = job.GetProperty("progress").GetProperty("epochs").GetInt32();
        Guid runId = Assert.Single(job.GetProperty("runIds").EnumerateArray()).GetGuid();
        JsonElement run = await client.GetFromJsonAsync<JsonElement>($"/api/v1/runs/{runId}");
        using TrainingClient sdk = TrainingClient.Create(api.Server.BaseAddress, new TrainingClientOptions { HttpHandler = api.CreateGrpcHandler() });
        SdkRun sdkRun = await sdk.Runs.GetAsync(runId);
        return (epochs, run, sdkRun);
    }
}

public sealed class SqliteModelSelectionTests(SqliteApi api) : ModelSelectionTests<SqliteApi>(api), IClassFixture<SqliteApi>;

public sealed class PostgresModelSelectionTests(PostgresApi api) : ModelSelectionTests<PostgresApi>(api), IClassFixture<PostgresApi>;

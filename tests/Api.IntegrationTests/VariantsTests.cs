using System.Net.Http.Headers;
using System.Security.Cryptography;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Api.IntegrationTests;

/// <summary>Train once, then every device fetches the variant that fits its latency budget.</summary>
public abstract class VariantsTests<TApi>(TApi api) where TApi : ApiFactory
{
    private const int Side = ApiClient.SmallRunSide;

    [Fact]
    public async Task TrainedRun_SelectAtThreeBudgets_MonotoneAccuracyAndDownloadedOnnxReproducesAccuracy()
    {
        HttpClient client = api.CreateClient();
        (Guid runId, byte[] testImages, byte[] testLabels) = await ApiClient.TrainRunWithTestSplitAsync(client, "with-test");

        JsonElement devices = await client.GetFromJsonAsync<JsonElement>("/api/v1/devices");
        string device = devices.EnumerateArray().Single(d => d.GetProperty("builtIn").GetBoolean()).GetProperty("name").GetString()!;
        JsonElement listed = await client.GetFromJsonAsync<JsonElement>($"/api/v1/runs/{runId}/variants?device={device}");
        JsonElement[] all = listed.GetProperty("devices")[0].GetProperty("variants").EnumerateArray().ToArray();
        Assert.True(all.Length >= 4);
        Assert.All(all, v => Assert.Equal("measured", v.GetProperty("latency").GetProperty("source").GetString()));
        Assert.NotEmpty(listed.GetProperty("devices")[0].GetProperty("frontier").EnumerateArray());
        double[] latencies = all.Select(v => v.GetProperty("latency").GetProperty("ms").GetDouble()).Order().ToArray();

        double[] budgets = [latencies[0], latencies[latencies.Length / 2], latencies[^1] * 2];
        var chosen = new List<JsonElement>();
        foreach (double budget in budgets)
        {
            JsonElement selection = await client.GetFromJsonAsync<JsonElement>(
                $"/api/v1/runs/{runId}/variants/select?device={device}&latencyBudgetMs={budget.ToString("R", System.Globalization.CultureInfo.InvariantCulture)}");
            JsonElement variant = selection.GetProperty("variant");
            Assert.True(variant.GetProperty("latency").GetProperty("ms").GetDouble() <= budget);
            chosen.Add(variant);
        }
        double[] accuracies = chosen.Select(v => v.GetProperty("accuracy").GetDouble()).ToArray();
        Assert.Equal(accuracies.Order().ToArray(), accuracies);
        Assert.Equal(all.Max(v => v.GetProperty("accuracy").GetDouble()), accuracies[^1]);

        using HttpResponseMessage tooTight = await client.GetAsync(
            $"/api/v1/runs/{runId}/variants/select?device={device}&latencyBudgetMs={(latencies[0] / 1000).ToString("R", System.Globalization.CultureInfo.InvariantCulture)}");
        Assert.Equal(HttpStatusCode.UnprocessableEntity, tooTight.StatusCode);
        JsonElement problem = await tooTight.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(latencies[0], problem.GetProperty("fastestLatencyMs").GetDouble(), 9);

        // Download the loose budget's ONNX file and run it with ONNX Runtime on the test split.
        string link = chosen[^1].GetProperty("links").GetProperty("onnx").GetString()!;
        using HttpResponseMessage download = await client.GetAsync(link);
        Assert.Equal(HttpStatusCode.OK, download.StatusCode);
        byte[] onnx = await download.Content.ReadAsByteArrayAsync();
        Assert.Equal(onnx.Length, download.Content.Headers.ContentLength);
        Assert.Equal($"\"{Convert.ToHexStringLower(SHA256.HashData(onnx))}\"", download.Headers.ETag?.Tag);
        double accuracy = RunOnnx(onnx, testImages, testLabels);
        Assert.Equal(chosen[^1].GetProperty("accuracy").GetDouble(), accuracy, 2);

        using var ranged = new HttpRequestMessage(HttpMethod.Get, link);
        ranged.Headers.Range = new RangeHeaderValue(10, 109);
        using HttpResponseMessage partial = await client.SendAsync(ranged);
        Assert.Equal(HttpStatusCode.PartialContent, partial.StatusCode);
        Assert.Equal(onnx[10..110], await partial.Content.ReadAsByteArrayAsync());

        using HttpResponseMessage torch = await client.GetAsync(chosen[^1].GetProperty("links").GetProperty("torchSharp").GetString());
        Assert.Equal(HttpStatusCode.OK, torch.StatusCode);

        // The curve plots: a PNG (by its signature) and an SVG document.
        using HttpResponseMessage png = await client.GetAsync($"/api/v1/runs/{runId}/curve.png");
        Assert.Equal("image/png", png.Content.Headers.ContentType?.MediaType);
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], (await png.Content.ReadAsByteArrayAsync())[..4]);
        using HttpResponseMessage svg = await client.GetAsync($"/api/v1/runs/{runId}/curve.svg");
        Assert.Equal("image/svg+xml", svg.Content.Headers.ContentType?.MediaType);
        Assert.Contains("<svg", await svg.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task UserDevice_PostedLatencies_MeasuredWhereGivenEstimatedElsewhere()
    {
        HttpClient client = api.CreateClient();
        (Guid runId, _, _) = await ApiClient.TrainRunWithTestSplitAsync(client, "with-test");
        JsonElement curve = await client.GetFromJsonAsync<JsonElement>($"/api/v1/runs/{runId}/curve");
        JsonElement[] points = curve.GetProperty("points").EnumerateArray().ToArray();
        string name = $"phone-{Guid.NewGuid():N}"[..20];

        using HttpResponseMessage created = await client.PostAsJsonAsync("/api/v1/devices", new { name, description = "test phone", cores = 8 });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        using HttpResponseMessage duplicate = await client.PostAsJsonAsync("/api/v1/devices", new { name });
        Assert.Equal(HttpStatusCode.Conflict, duplicate.StatusCode);

        // Latency proportional to FLOPs, measured for the smallest and the largest variant only.
        object Measure(JsonElement p) => new { rankFraction = p.GetProperty("rankFraction").GetDouble(), batch = 1, medianMs = p.GetProperty("flops").GetInt64() / 1e4, p90Ms = p.GetProperty("flops").GetInt64() / 0.9e4 };
        using HttpResponseMessage posted = await client.PostAsJsonAsync($"/api/v1/devices/{name}/latencies",
            new { runId, runtime = "onnxruntime-android", measurements = new[] { Measure(points[0]), Measure(points[^1]) } });
        Assert.Equal(HttpStatusCode.OK, posted.StatusCode);

        JsonElement listed = await client.GetFromJsonAsync<JsonElement>($"/api/v1/runs/{runId}/variants?device={name}");
        JsonElement[] variants = listed.GetProperty("devices")[0].GetProperty("variants").EnumerateArray().ToArray();
        Assert.Equal(points.Length, variants.Length);
        string[] sources = variants.Select(v => v.GetProperty("latency").GetProperty("source").GetString()!).ToArray();
        Assert.Equal("measured", sources[0]);
        Assert.Equal("measured", sources[^1]);
        Assert.All(sources[1..^1], s => Assert.Equal("estimated", s));
        // The calibration is exact for proportional measurements.
        Assert.All(variants, v => Assert.Equal(v.GetProperty("flops").GetInt64() / 1e4, v.GetProperty("latency").GetProperty("ms").GetDouble(), 6));

        JsonElement selected = await client.GetFromJsonAsync<JsonElement>(
            $"/api/v1/runs/{runId}/variants/select?device={name}&latencyBudgetMs={points[^1].GetProperty("flops").GetInt64() / 1e4}");
        Assert.Equal(points.Max(p => p.GetProperty("accuracy").GetDouble()), selected.GetProperty("variant").GetProperty("accuracy").GetDouble());

        // New measurements replace the old ones at once, although selections are served from a cache.
        double fullRankBefore = points[^1].GetProperty("flops").GetInt64() / 1e4;
        using HttpResponseMessage slower = await client.PostAsJsonAsync($"/api/v1/devices/{name}/latencies", new
        {
            runId,
            measurements = new[] { new { rankFraction = points[^1].GetProperty("rankFraction").GetDouble(), batch = 1, medianMs = fullRankBefore * 100 } },
        });
        Assert.Equal(HttpStatusCode.OK, slower.StatusCode);
        JsonElement reselected = await client.GetFromJsonAsync<JsonElement>(
            $"/api/v1/runs/{runId}/variants/select?device={name}&latencyBudgetMs={fullRankBefore}");
        Assert.NotEqual(1.0, reselected.GetProperty("variant").GetProperty("rankFraction").GetDouble());
        Assert.True(reselected.GetProperty("variant").GetProperty("latency").GetProperty("ms").GetDouble() <= fullRankBefore);
    }

    [Fact]
    public async Task CreateDevice_SameNameConcurrently_OneCreatedTheRestConflict()
    {
        HttpClient client = api.CreateClient();
        string name = $"race-{Guid.NewGuid():N}"[..20];

        HttpResponseMessage[] responses = await Task.WhenAll(Enumerable.Range(0, 8)
            .Select(_ => client.PostAsJsonAsync("/api/v1/devices", new { name })));

        string statuses = string.Join(", ", responses.Select(r => (int)r.StatusCode));
        Assert.Equal(1, responses.Count(r => r.StatusCode == HttpStatusCode.Created));
        Assert.True(responses.All(r => r.StatusCode is HttpStatusCode.Created or HttpStatusCode.Conflict), statuses);
        foreach (HttpResponseMessage response in responses)
        {
            response.Dispose();
        }
    }

    [Fact]
    public async Task VariantEndpoints_BadInput_Return4xxProblems()
    {
        HttpClient client = api.CreateClient();
        (Guid runId, _, _) = await ApiClient.TrainRunWithTestSplitAsync(client, "with-test");
        string device = (await client.GetFromJsonAsync<JsonElement>("/api/v1/devices")).EnumerateArray()
            .First(d => d.GetProperty("builtIn").GetBoolean()).GetProperty("name").GetString()!;
        string select = $"/api/v1/runs/{runId}/variants/select";

        await ExpectAsync(client.GetAsync($"{select}?device=no-such-device&latencyBudgetMs=5"), HttpStatusCode.NotFound);
        await ExpectAsync(client.GetAsync($"{select}?device={device}&latencyBudgetMs=-1"), HttpStatusCode.BadRequest, "latencyBudgetMs");
        await ExpectAsync(client.GetAsync($"{select}?device={device}&latencyBudgetMs=99999999"), HttpStatusCode.BadRequest, "latencyBudgetMs");
        await ExpectAsync(client.GetAsync($"{select}?device={device}"), HttpStatusCode.BadRequest, "latencyBudgetMs");
        await ExpectAsync(client.GetAsync($"{select}?device={device}&latencyBudgetMs=5&batch=0"), HttpStatusCode.BadRequest, "batch");
        await ExpectAsync(client.GetAsync($"{select}?device=Bad Name&latencyBudgetMs=5"), HttpStatusCode.BadRequest, "device");
        await ExpectAsync(client.GetAsync($"/api/v1/runs/{Guid.NewGuid()}/variants/select?device={device}&latencyBudgetMs=5"), HttpStatusCode.NotFound);
        await ExpectAsync(client.GetAsync($"/api/v1/runs/{runId}/variants/0.3/model"), HttpStatusCode.NotFound);
        await ExpectAsync(client.GetAsync($"/api/v1/runs/{runId}/variants/1/model?format=pt"), HttpStatusCode.BadRequest, "format");
        await ExpectAsync(client.PostAsJsonAsync("/api/v1/devices", new { name = "../etc" }), HttpStatusCode.BadRequest, "name");
        await ExpectAsync(client.PostAsJsonAsync("/api/v1/devices", new { name = "long-cpu", cpuModel = new string('x', 201) }), HttpStatusCode.BadRequest, "cpuModel");
        Assert.Equal(HttpStatusCode.Created, (await client.PostAsJsonAsync("/api/v1/devices", new { name = "bad-input-phone" })).StatusCode);
        await ExpectAsync(client.PostAsJsonAsync("/api/v1/devices/bad-input-phone/latencies",
            new { runId, measurements = new[] { new { rankFraction = 0.3, batch = 1, medianMs = 1.0 } } }), HttpStatusCode.BadRequest, "measurements[0].rankFraction");
        await ExpectAsync(client.PostAsJsonAsync("/api/v1/devices/bad-input-phone/latencies",
            new { runId, measurements = new[] { new { rankFraction = 1.0, batch = 1, medianMs = -2.0 } } }), HttpStatusCode.BadRequest, "measurements[0].medianMs");
        // Built-in profiles are the workers' measurements, shared by every tenant: read-only over the API.
        await ExpectAsync(client.PostAsJsonAsync($"/api/v1/devices/{device}/latencies",
            new { runId, measurements = new[] { new { rankFraction = 1.0, batch = 1, medianMs = 2.0 } } }), HttpStatusCode.Conflict);
        await ExpectAsync(client.PostAsJsonAsync("/api/v1/devices/no-such-device/latencies",
            new { runId, measurements = new[] { new { rankFraction = 1.0, batch = 1, medianMs = 2.0 } } }), HttpStatusCode.NotFound);

        // A run that has not finished has no variants yet.
        Guid datasetId = await ApiClient.UploadDatasetAsync(client);
        using HttpResponseMessage submitted = await client.PostAsJsonAsync("/api/v1/jobs", ApiClient.JobSpec(datasetId, epochs: 300));
        Guid jobId = (await submitted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        JsonElement running = await ApiClient.WaitForJobAsync(client, jobId, j => j.GetProperty("runIds").GetArrayLength() > 0, TimeSpan.FromMinutes(1));
        Guid unfinished = running.GetProperty("runIds")[0].GetGuid();
        await ExpectAsync(client.GetAsync($"/api/v1/runs/{unfinished}/variants/select?device={device}&latencyBudgetMs=5"), HttpStatusCode.Conflict);
        await client.PostAsync($"/api/v1/jobs/{jobId}/cancel", null);
        await ApiClient.WaitForJobAsync(client, jobId, j => j.Status() == "Cancelled", TimeSpan.FromSeconds(30));
    }

    private static async Task ExpectAsync(Task<HttpResponseMessage> call, HttpStatusCode status, string? field = null)
    {
        using HttpResponseMessage response = await call;
        if (field is not null)
        {
            await ApiClient.AssertProblemAsync(response, status, field);
            return;
        }
        Assert.True(response.StatusCode == status, $"expected {(int)status}, got {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    private static double RunOnnx(byte[] onnx, byte[] testImages, byte[] testLabels)
    {
        int count = testLabels.Length - 8;
        // An MLP variant takes flattened samples: [batch, side·side].
        var input = new DenseTensor<float>(new[] { count, Side * Side });
        for (int i = 0; i < count * Side * Side; i++)
        {
            input.Buffer.Span[i] = testImages[16 + i] / 255f;
        }
        using var session = new InferenceSession(onnx);
        using var results = session.Run([NamedOnnxValue.CreateFromTensor(session.InputMetadata.Keys.Single(), input)]);
        Tensor<float> logits = results.Single().AsTensor<float>();
        int classes = logits.Dimensions[1];
        int correct = 0;
        for (int n = 0; n < count; n++)
        {
            int best = 0;
            for (int c = 1; c < classes; c++)
            {
                if (logits[n, c] > logits[n, best])
                {
                    best = c;
                }
            }
            correct += best == testLabels[8 + n] ? 1 : 0;
        }
        return (double)correct / count;
    }
}

public sealed class SqliteVariantsTests(SqliteApi api) : VariantsTests<SqliteApi>(api), IClassFixture<SqliteApi>;

public sealed class PostgresVariantsTests(PostgresApi api) : VariantsTests<PostgresApi>(api), IClassFixture<PostgresApi>;

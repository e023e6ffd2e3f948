using System.Net.Http.Headers;

namespace Api.IntegrationTests.Infrastructure;

/// <summary>HTTP helpers shared by the tests.</summary>
public static class ApiClient
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private static int s_seed = 1_000_000;

    /// <summary>
    /// A seed no other call of this run got: uploads of equal content return the tenant's existing dataset, so
    /// helpers that must create a new dataset vary their generated data.
    /// </summary>
    public static int UniqueSeed() => Interlocked.Increment(ref s_seed);

    public static MultipartFormDataContent DatasetForm(string? name, byte[]? images, byte[]? labels, string format = "idx")
    {
        var form = new MultipartFormDataContent();
        if (name is not null)
        {
            form.Add(new StringContent(name), "name");
        }
        form.Add(new StringContent(format), "format");
        if (images is not null)
        {
            form.Add(File(images), "images", "images.idx.gz");
        }
        if (labels is not null)
        {
            form.Add(File(labels), "labels", "labels.idx");
        }
        return form;
    }

    public static ByteArrayContent File(byte[] bytes)
    {
        var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        return content;
    }

    /// <summary>Uploads a new dataset: <paramref name="builder"/>'s data, or by default the standard data with a <see cref="UniqueSeed"/>.</summary>
    public static async Task<Guid> UploadDatasetAsync(HttpClient client, IdxBuilder? builder = null)
    {
        (byte[] images, byte[] labels) = (builder ?? new IdxBuilder { Seed = UniqueSeed() }).Build();
        using HttpResponseMessage response = await client.PostAsync("/api/v1/datasets", DatasetForm("tiny", IdxBuilder.Gzip(images), labels));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
    }

    public static object JobSpec(Guid datasetId, int epochs = 3, int[]? hidden = null, int maxRank = 16, int batchSize = 32, double learningRate = 0.01) => new
    {
        datasetId,
        model = new { kind = "mlp", hidden = hidden ?? [32], maxRank },
        training = new { epochs, batchSize, learningRate, seed = 1 },
    };

    /// <summary>Image side of <see cref="TrainRunWithTestSplitAsync"/>'s data.</summary>
    public const int SmallRunSide = 8;

    /// <summary>
    /// Uploads generated 8×8 data with an explicit test split (so a test knows the test inputs), trains a small
    /// MLP to success and returns its run with the test files.
    /// </summary>
    public static async Task<(Guid RunId, byte[] TestImages, byte[] TestLabels)> TrainRunWithTestSplitAsync(HttpClient client, string name)
    {
        (byte[] images, byte[] labels) = new IdxBuilder { Samples = 400, Side = SmallRunSide, Seed = UniqueSeed() }.Build();
        (byte[] testImages, byte[] testLabels) = new IdxBuilder { Samples = 200, Side = SmallRunSide, Seed = 99 }.Build();
        MultipartFormDataContent form = DatasetForm(name, images, labels);
        form.Add(File(testImages), "testImages", "t-images.idx");
        form.Add(File(testLabels), "testLabels", "t-labels.idx");
        using HttpResponseMessage uploaded = await client.PostAsync("/api/v1/datasets", form);
        Assert.Equal(HttpStatusCode.Created, uploaded.StatusCode);
        Guid datasetId = (await uploaded.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        using HttpResponseMessage submitted = await client.PostAsJsonAsync("/api/v1/jobs", JobSpec(datasetId, epochs: 3, hidden: [64, 32], maxRank: 32));
        Guid jobId = (await submitted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        JsonElement job = await WaitForJobAsync(client, jobId, j => j.Status() is "Succeeded" or "Failed", TimeSpan.FromMinutes(3));
        Assert.True(job.Status() == "Succeeded", job.ToString());
        return (job.GetProperty("runIds")[0].GetGuid(), testImages, testLabels);
    }

    public static async Task<JsonElement> WaitForJobAsync(HttpClient client, Guid jobId, Func<JsonElement, bool> until, TimeSpan timeout)
    {
        DateTime deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            JsonElement job = await client.GetFromJsonAsync<JsonElement>($"/api/v1/jobs/{jobId}");
            if (until(job))
            {
                return job;
            }
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Job {jobId} did not reach the expected state in {timeout}: {job}");
            }
            await Task.Delay(200);
        }
    }

    public static string Status(this JsonElement job) => job.GetProperty("status").GetString()!;

    public static async Task AssertProblemAsync(HttpResponseMessage response, HttpStatusCode status, string field)
    {
        string body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"expected {(int)status}, got {(int)response.StatusCode}: {body}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        JsonElement problem = JsonDocument.Parse(body).RootElement;
        Assert.True(problem.TryGetProperty("errors", out JsonElement errors) && errors.TryGetProperty(field, out _),
            $"expected an error for '{field}': {body}");
    }
}

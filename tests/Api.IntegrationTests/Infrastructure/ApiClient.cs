using System.Net.Http.Headers;

namespace Api.IntegrationTests.Infrastructure;

/// <summary>HTTP helpers shared by the tests.</summary>
public static class ApiClient
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

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

    public static async Task<Guid> UploadDatasetAsync(HttpClient client, IdxBuilder? builder = null)
    {
        (byte[] images, byte[] labels) = (builder ?? new IdxBuilder()).Build();
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

namespace Api.IntegrationTests;

/// <summary>
/// Issue 11: a training whose checkpoints do not fit the artifact store fails with an error that names the full
/// store, leaves no file of its own behind, and the service trains again once space returns (root only: tmpfs).
/// </summary>
public sealed class DiskFullTrainingTests(DiskFullApi api) : IClassFixture<DiskFullApi>
{
    [Fact]
    public async Task Training_ArtifactStoreFull_FailsWithAClearErrorAndLeavesNoFiles_ThenTrainsWhenSpaceReturns()
    {
        HttpClient client = api.CreateClient();
        if (!api.Mounted)
        {
            return;
        }
        api.Resize(2048);
        Guid datasetId = await ApiClient.UploadDatasetAsync(client);
        IReadOnlyList<string> datasetFiles = api.Files();
        // About 1.6 M parameters: a checkpoint (weights and Adam's moments) is ~19 MB, the store 2 MiB.
        object spec = ApiClient.JobSpec(datasetId, epochs: 2, hidden: [1024, 1024], maxRank: 512);
        using HttpResponseMessage submitted = await client.PostAsJsonAsync("/api/v1/jobs", spec);
        Guid jobId = (await submitted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();

        JsonElement job = await ApiClient.WaitForJobAsync(client, jobId, j => j.Status() is "Succeeded" or "Failed", TimeSpan.FromMinutes(3));

        Assert.Equal("Failed", job.Status());
        Assert.Contains("Storage:ArtifactRoot", job.GetProperty("error").GetString());
        Assert.Equal(datasetFiles, api.Files());

        api.Resize(256 * 1024);
        using HttpResponseMessage again = await client.PostAsJsonAsync("/api/v1/jobs", spec);
        Guid secondId = (await again.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        JsonElement second = await ApiClient.WaitForJobAsync(client, secondId, j => j.Status() is "Succeeded" or "Failed", TimeSpan.FromMinutes(3));
        Assert.True(second.Status() == "Succeeded", second.ToString());
    }
}

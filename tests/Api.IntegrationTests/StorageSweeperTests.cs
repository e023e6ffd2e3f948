using Domain.Datasets;
using Infrastructure.Artifacts;
using Microsoft.Extensions.DependencyInjection;

namespace Api.IntegrationTests;

/// <summary>
/// Issue 11's sweeper against the real store and database: only old staged files and old files no row owns go; fresh,
/// referenced, open, dataset-owned and unknown-folder files stay.
/// </summary>
public abstract class StorageSweeperTests<TApi>(TApi api) where TApi : ApiFactory
{
    [Fact]
    public async Task Sweep_OldUnreferencedFiles_DeletesOnlyThoseAndIsSafeToRepeat()
    {
        // Arrange
        HttpClient client = api.CreateClient();
        Guid datasetId = await ApiClient.UploadDatasetAsync(client);
        IArtifactStore store = api.Services.GetRequiredService<IArtifactStore>();
        DateTime old = DateTime.UtcNow.AddHours(-2);
        string datasetFolder = $"datasets/{datasetId:N}";
        string referenced = $"{datasetFolder}/{DatasetLayout.TrainImages}";
        string Write(string path, bool isOld = true)
        {
            string full = Path.Combine(store.Root, path);
            Directory.CreateDirectory(Path.GetDirectoryName(full)!);
            File.WriteAllBytes(full, new byte[100]);
            if (isOld)
            {
                File.SetLastWriteTimeUtc(full, old);
            }
            return path;
        }
        string oldStaged = Write($".staging/{Guid.NewGuid():N}.tmp");
        string freshStaged = Write($".staging/{Guid.NewGuid():N}.tmp", isOld: false);
        string oldOrphan = Write($"runs/{Guid.NewGuid():N}/checkpoints/epoch-0001.ckpt");
        string oldOrphanDataset = Write($"datasets/{Guid.NewGuid():N}/{DatasetLayout.TrainImages}");
        string freshOrphan = Write($"runs/{Guid.NewGuid():N}/model.bin", isOld: false);
        string inLiveDataset = Write($"{datasetFolder}/unrecorded.bin");
        string unknownFolder = Write($"elsewhere/{Guid.NewGuid():N}.bin");
        File.SetLastWriteTimeUtc(Path.Combine(store.Root, referenced), old);
        using StagedFile open = store.Stage();
        open.Stream.Write(new byte[10]);
        open.Stream.Flush();
        File.SetLastWriteTimeUtc(open.TempPath, old);
        StorageSweeper sweeper = api.Services.GetRequiredService<StorageSweeper>();

        // Act: two sweeps at once, as on two workers, then one more.
        SweepResult[] results = await Task.WhenAll(sweeper.SweepAsync(CancellationToken.None), sweeper.SweepAsync(CancellationToken.None));
        SweepResult again = await sweeper.SweepAsync(CancellationToken.None);

        // Assert
        bool Exists(string path) => File.Exists(Path.Combine(store.Root, path));
        Assert.False(Exists(oldStaged));
        Assert.False(Exists(oldOrphan));
        Assert.False(Exists(oldOrphanDataset));
        Assert.All(new[] { freshStaged, freshOrphan, referenced, inLiveDataset, unknownFolder }, path => Assert.True(Exists(path), path));
        Assert.True(File.Exists(open.TempPath), "a staged file still open was deleted");
        Assert.Equal(1, results.Sum(r => r.StagedFiles));
        Assert.Equal(100, results.Sum(r => r.StagedBytes));
        Assert.Equal(2, results.Sum(r => r.OrphanFiles));
        Assert.Equal(200, results.Sum(r => r.OrphanBytes));
        Assert.Equal(new SweepResult(0, 0, 0, 0), again);
        using HttpResponseMessage dataset = await client.GetAsync($"/api/v1/datasets/{datasetId}");
        Assert.Equal(HttpStatusCode.OK, dataset.StatusCode);
    }
}

public sealed class SqliteStorageSweeperTests(SqliteApi api) : StorageSweeperTests<SqliteApi>(api), IClassFixture<SqliteApi>;

public sealed class PostgresStorageSweeperTests(PostgresApi api) : StorageSweeperTests<PostgresApi>(api), IClassFixture<PostgresApi>;

extern alias sdk;

using System.IO.Compression;
using System.Text;
using Grpc.Core;
using sdk::TrainingService.Sdk;
using sdk::TrainingService.Sdk.V1;

namespace Api.IntegrationTests.Grpc;

/// <summary>
/// The SDK's CSV, image-folder ZIP and local-folder uploads against the real Api over the TestServer handler:
/// each is stored converted, with the samples, classes and shape of its input. Tests convert to distinct sizes,
/// so none is answered with another test's dataset of the same content.
/// </summary>
public abstract class SdkUploadTests<TApi>(TApi api) : IDisposable where TApi : ApiFactory
{
    /// <summary>Client chunk size; the client sends chunks of this less 1 KiB (room for the message framing).</summary>
    private const int ChunkOption = 4096;
    private const int Chunk = ChunkOption - 1024;

    private readonly string _folder = Directory.CreateTempSubdirectory("tas-sdk-upload-").FullName;

    public void Dispose()
    {
        Directory.Delete(_folder, recursive: true);
        GC.SuppressFinalize(this);
    }

    [Fact]
    public async Task UploadCsvDatasetAsync_StreamsWithTestTableAndLabelColumn_StoresConvertedDataset()
    {
        using TrainingClient client = Client();
        byte[] csv = Encoding.UTF8.GetBytes(new CsvBuilder { LabelName = "species" }.Build());
        byte[] test = Encoding.UTF8.GetBytes(new CsvBuilder { LabelName = "species", Rows = 80, Seed = 12 }.Build());
        var reports = new List<UploadProgress>();

        Dataset dataset = await client.Datasets.UploadCsvAsync("sdk-csv", new MemoryStream(csv), new MemoryStream(test),
            new CsvUploadOptions { LabelColumn = "species", HasHeader = true }, new SynchronousProgress<UploadProgress>(reports.Add));
        JsonElement rest = await api.CreateClient().GetFromJsonAsync<JsonElement>($"/api/v1/datasets/{dataset.Id}");

        Assert.Equal(("csv", 400, 80, 4), (dataset.Format, dataset.Samples, dataset.TestSamples, dataset.Classes));
        Assert.Equal([8], dataset.Shape);
        Assert.Equal(dataset.ContentHash, rest.GetProperty("contentHash").GetString());
        Assert.Equal(csv.Length + test.Length, reports[^1].SentBytes);
        Assert.All(reports, r => Assert.Equal(csv.Length + test.Length, r.TotalBytes));
        // Full chunks but for the last of each file.
        Assert.Equal((csv.Length + Chunk - 1) / Chunk + (test.Length + Chunk - 1) / Chunk, reports.Count);
    }

    [Fact]
    public async Task UploadCsvDatasetAsync_GzipFileWithoutHeaderAndIndexLabel_DetectsDelimiterAndStoresDataset()
    {
        using TrainingClient client = Client();
        var csv = new StringBuilder();
        for (int n = 0; n < 60; n++)
        {
            csv.Append($"{n * 0.5};{n % 3};{(n % 3) * 10 + 0.25}\n");
        }
        string path = Path.Combine(_folder, "table.csv.gz");
        await using (var gzip = new GZipStream(File.Create(path), CompressionLevel.Optimal))
        {
            await gzip.WriteAsync(Encoding.UTF8.GetBytes(csv.ToString()));
        }

        Dataset dataset = await client.Datasets.UploadCsvAsync("sdk-csv-file", path, options: new CsvUploadOptions { LabelColumn = "1", HasHeader = false });

        Assert.Equal(("csv", 60, 0, 3), (dataset.Format, dataset.Samples, dataset.TestSamples, dataset.Classes));
        Assert.Equal([2], dataset.Shape);
    }

    [Fact]
    public async Task UploadCsvDatasetAsync_UnknownLabelColumn_InvalidArgumentNamingLabelColumnAndStoresNothing()
    {
        using TrainingClient client = Client();
        byte[] csv = Encoding.UTF8.GetBytes(new CsvBuilder { Rows = 40 }.Build());
        ApiFactory.StoredState before = await api.StoredStateAsync();

        RpcException error = await Assert.ThrowsAsync<RpcException>(() =>
            client.Datasets.UploadCsvAsync("sdk-bad", new MemoryStream(csv), options: new CsvUploadOptions { LabelColumn = "nope" }));

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains("labelColumn", error.FieldViolations().Select(v => v.Field));
        Assert.Equal(before, await api.StoredStateAsync());
    }

    [Fact]
    public async Task UploadIdxArchiveAsync_ZipOfMnistNamedFiles_StoresTrainAndTestSplit()
    {
        using TrainingClient client = Client();
        (byte[] images, byte[] labels) = new IdxBuilder { Seed = ApiClient.UniqueSeed() }.Build();
        (byte[] testImages, byte[] testLabels) = new IdxBuilder { Samples = 60, Seed = ApiClient.UniqueSeed() }.Build();
        string path = Path.Combine(_folder, "idx.zip");
        await File.WriteAllBytesAsync(path, ImageZipBuilder.Zip(z =>
        {
            ImageZipBuilder.Add(z, "train-images-idx3-ubyte.gz", IdxBuilder.Gzip(images));
            ImageZipBuilder.Add(z, "train-labels-idx1-ubyte.gz", IdxBuilder.Gzip(labels));
            ImageZipBuilder.Add(z, "t10k-images-idx3-ubyte", testImages);
            ImageZipBuilder.Add(z, "t10k-labels-idx1-ubyte", testLabels);
        }));

        Dataset dataset = await client.Datasets.UploadIdxArchiveAsync("sdk-idx-zip", path);
        RpcException notZip = await Assert.ThrowsAsync<RpcException>(() => client.Datasets.UploadIdxArchiveAsync("sdk-idx-zip", new MemoryStream("text"u8.ToArray())));

        Assert.Equal(("idx", 400, 60), (dataset.Format, dataset.Samples, dataset.TestSamples));
        Assert.Equal(StatusCode.InvalidArgument, notZip.StatusCode);
        Assert.Contains(notZip.FieldViolations(), v => v.Field == "archive");
    }

    [Fact]
    public async Task UploadImageFolderZipAsync_StreamAndFile_StoreShapeClassesAndSplit()
    {
        using TrainingClient client = Client();
        byte[] archive = ImageZipBuilder.Build();
        string splitPath = Path.Combine(_folder, "split.zip");
        await File.WriteAllBytesAsync(splitPath, ImageZipBuilder.Build(split: true));
        var reports = new List<UploadProgress>();

        Dataset grey = await client.Datasets.UploadImageFolderZipAsync("sdk-zip", new MemoryStream(archive), new ImageUploadOptions(Width: 10, Height: 8),
            new SynchronousProgress<UploadProgress>(reports.Add));
        Dataset rgb = await client.Datasets.UploadImageFolderZipAsync("sdk-zip-file", splitPath, new ImageUploadOptions(Width: 6, Height: 4, Channels: 3));
        Dataset defaults = await client.Datasets.UploadImageFolderZipAsync("sdk-zip-defaults", new MemoryStream(archive));

        Assert.Equal(("zip", 180, 0, 3), (grey.Format, grey.Samples, grey.TestSamples, grey.Classes));
        Assert.Equal([8, 10], grey.Shape);
        Assert.Equal(archive.Length, reports[^1].SentBytes);
        Assert.Equal(archive.Length, reports[^1].TotalBytes);
        Assert.Equal(("zip", 144, 36, 3), (rgb.Format, rgb.Samples, rgb.TestSamples, rgb.Classes));
        Assert.Equal([3, 4, 6], rgb.Shape);
        Assert.Equal([28, 28], defaults.Shape);
    }

    [Fact]
    public async Task UploadImageFolderAsync_ClassFolders_ZipsWhileSendingAndStoresTheSameDatasetAsTheZip()
    {
        using TrainingClient client = Client();
        byte[] archive = ImageZipBuilder.Build();
        string folder = Path.Combine(_folder, "images");
        ZipFile.ExtractToDirectory(new MemoryStream(archive), folder);
        // Skipped by the client: hidden files and folders, and files that are not PNG or JPEG.
        await File.WriteAllTextAsync(Path.Combine(folder, "README.txt"), "three bands");
        await File.WriteAllBytesAsync(Path.Combine(folder, "band0", ".DS_Store"), [0, 1, 2]);
        Directory.CreateDirectory(Path.Combine(folder, ".cache", "band9"));
        await File.WriteAllBytesAsync(Path.Combine(folder, ".cache", "band9", "x.png"), ImageZipBuilder.Png(4, (_, _) => SkiaSharp.SKColors.Red));
        var reports = new List<UploadProgress>();

        Dataset fromFolder = await client.Datasets.UploadImageFolderAsync("sdk-folder", folder, new ImageUploadOptions(8, 8),
            new SynchronousProgress<UploadProgress>(reports.Add));
        Dataset fromZip = await client.Datasets.UploadImageFolderZipAsync("sdk-folder-zip", new MemoryStream(archive), new ImageUploadOptions(8, 8));

        Assert.Equal(("zip", 180, 0, 3), (fromFolder.Format, fromFolder.Samples, fromFolder.TestSamples, fromFolder.Classes));
        Assert.Equal([8, 8], fromFolder.Shape);
        // Same images, same class folders: the converted files are identical.
        Assert.Equal(fromZip.ContentHash, fromFolder.ContentHash);
        Assert.All(reports, r => Assert.Null(r.TotalBytes));
        long[] sent = reports.Select(r => r.SentBytes).ToArray();
        long[] chunks = sent.Zip(sent.Skip(1), (a, b) => b - a).Prepend(sent[0]).ToArray();
        Assert.True(chunks.Length > 10, $"{chunks.Length} chunks");
        Assert.All(chunks[..^1], c => Assert.Equal(Chunk, c));
        Assert.InRange(chunks[^1], 1, Chunk);
    }

    [Fact]
    public async Task UploadImageFolderAsync_TrainAndTestFolders_StoresTestSplitInRgb()
    {
        using TrainingClient client = Client();
        string folder = Path.Combine(_folder, "split");
        ZipFile.ExtractToDirectory(new MemoryStream(ImageZipBuilder.Build(split: true)), folder);

        Dataset dataset = await client.Datasets.UploadImageFolderAsync("sdk-folder-split", folder, new ImageUploadOptions(5, 7, 3));

        Assert.Equal(("zip", 144, 36, 3), (dataset.Format, dataset.Samples, dataset.TestSamples, dataset.Classes));
        Assert.Equal([3, 7, 5], dataset.Shape);
    }

    [Fact]
    public async Task UploadImageFolderAsync_BadFolders_FailBeforeSendingOrAsInvalidArgumentAndStoreNothing()
    {
        using TrainingClient client = Client();
        string empty = Directory.CreateDirectory(Path.Combine(_folder, "empty", "class-a")).Parent!.FullName;
        await File.WriteAllTextAsync(Path.Combine(empty, "class-a", "notes.txt"), "no images");
        string oneClass = Directory.CreateDirectory(Path.Combine(_folder, "one", "only")).Parent!.FullName;
        await File.WriteAllBytesAsync(Path.Combine(oneClass, "only", "a.png"), ImageZipBuilder.Png(4, (_, _) => SkiaSharp.SKColors.Blue));
        ApiFactory.StoredState before = await api.StoredStateAsync();

        await Assert.ThrowsAsync<DirectoryNotFoundException>(() => client.Datasets.UploadImageFolderAsync("missing", Path.Combine(_folder, "missing")));
        await Assert.ThrowsAsync<ArgumentException>(() => client.Datasets.UploadImageFolderAsync("empty", empty));
        RpcException error = await Assert.ThrowsAsync<RpcException>(() => client.Datasets.UploadImageFolderAsync("one", oneClass));
        RpcException badSize = await Assert.ThrowsAsync<RpcException>(() =>
            client.Datasets.UploadImageFolderAsync("size", Path.Combine(_folder, "one"), new ImageUploadOptions(Width: 0, Channels: 2)));

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Equal("archive", Assert.Single(error.FieldViolations()).Field);
        Assert.Equal(["channels", "width"], badSize.FieldViolations().Select(v => v.Field).Order());
        Assert.Equal(before, await api.StoredStateAsync());
    }

    private TrainingClient Client() =>
        TrainingClient.Create(api.Server.BaseAddress, new TrainingClientOptions { HttpHandler = api.CreateGrpcHandler(), UploadChunkSize = ChunkOption });

    /// <summary>Reports synchronously (Progress&lt;T&gt; posts to the thread pool, so the last report could arrive late).</summary>
    private sealed class SynchronousProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}

public sealed class SqliteSdkUploadTests(SqliteApi api) : SdkUploadTests<SqliteApi>(api), IClassFixture<SqliteApi>;

public sealed class PostgresSdkUploadTests(PostgresApi api) : SdkUploadTests<PostgresApi>(api), IClassFixture<PostgresApi>;

extern alias sdk;

using System.Net.Http.Headers;
using Api.Datasets;
using Domain.Artifacts;
using Google.Protobuf;
using Grpc.Net.Client;
using SkiaSharp;
using V1 = sdk::TrainingService.Sdk.V1;

namespace Api.IntegrationTests;

/// <summary>
/// What an upload records besides its files: per-class sample counts, the stored <c>samples.png</c> preview, and
/// deduplication of equal content within a tenant (REST 200 instead of 201, gRPC <c>deduplicated</c>).
/// </summary>
public abstract class DatasetSummaryTests<TApi>(TApi api) where TApi : ApiFactory
{
    [Fact]
    public async Task UploadIdx_WithTestSplit_RecordsClassCountsPerSplitInRestAndGrpc()
    {
        HttpClient client = api.CreateClient();
        (byte[] images, byte[] labels) = new IdxBuilder { Samples = 402, Classes = 4, Seed = ApiClient.UniqueSeed() }.Build();
        // Three classes of four in the test split: the missing class counts 0.
        (byte[] testImages, byte[] testLabels) = new IdxBuilder { Samples = 31, Classes = 3, Seed = ApiClient.UniqueSeed() }.Build();
        MultipartFormDataContent form = ApiClient.DatasetForm("counts", images, labels);
        form.Add(ApiClient.File(testImages), "testImages", "t-images.idx");
        form.Add(ApiClient.File(testLabels), "testLabels", "t-labels.idx");

        JsonElement dataset = await CreateAsync(client, form);
        JsonElement trainOnly = await CreateAsync(client, ApiClient.DatasetForm("counts-train", images, IdxBuilder.Encode(Relabel(labels), 402)));
        using GrpcChannel channel = Channel();
        V1.Dataset fetched = await new V1.DatasetService.DatasetServiceClient(channel)
            .GetDatasetAsync(new V1.GetDatasetRequest { Id = dataset.GetProperty("id").GetString() });

        Assert.Equal([101, 101, 100, 100], Ints(dataset, "classCounts"));
        Assert.Equal([11, 10, 10, 0], Ints(dataset, "testClassCounts"));
        Assert.Equal([101, 101, 100, 100], fetched.ClassCounts.ToArray());
        Assert.Equal([11, 10, 10, 0], fetched.TestClassCounts.ToArray());
        Assert.Equal([201, 201], Ints(trainOnly, "classCounts"));
        Assert.Empty(Ints(trainOnly, "testClassCounts"));
    }

    [Fact]
    public async Task UploadCsvAndZip_RecordClassCountsOfTheConvertedSplits()
    {
        HttpClient client = api.CreateClient();
        string csv = new CsvBuilder { Rows = 42, Classes = 4, Seed = ApiClient.UniqueSeed() }.Build();
        string testCsv = new CsvBuilder { Rows = 10, Classes = 4, Seed = ApiClient.UniqueSeed() }.Build();

        JsonElement table = await CreateAsync(client, UploadForm.Create("csv", ("data", csv), ("testData", testCsv)));
        JsonElement folders = await CreateAsync(client, UploadForm.Create("zip",
            ("archive", ImageZipBuilder.Build(classes: 3, perClass: 20, seed: ApiClient.UniqueSeed(), split: true)), ("width", "6"), ("height", "6")));

        Assert.Equal([11, 11, 10, 10], Ints(table, "classCounts"));
        Assert.Equal([3, 3, 2, 2], Ints(table, "testClassCounts"));
        // Every fifth image of a class is under test/.
        Assert.Equal([16, 16, 16], Ints(folders, "classCounts"));
        Assert.Equal([4, 4, 4], Ints(folders, "testClassCounts"));
    }

    [Fact]
    public async Task GetSamplesPng_IdxCsvAndRgbZip_StoredPngWithOneRowPerClassAndCacheHeaders()
    {
        HttpClient client = api.CreateClient();
        (byte[] images, byte[] labels) = new IdxBuilder { Samples = 60, Classes = 3, Seed = ApiClient.UniqueSeed() }.Build();
        Guid grey = (await CreateAsync(client, ApiClient.DatasetForm("grey", images, labels))).GetProperty("id").GetGuid();
        Guid table = (await CreateAsync(client, UploadForm.Create("csv", ("data", new CsvBuilder { Rows = 30, Classes = 2, Seed = ApiClient.UniqueSeed() }.Build()))))
            .GetProperty("id").GetGuid();
        Guid rgb = (await CreateAsync(client, UploadForm.Create("zip", ("archive", ImageZipBuilder.Build(classes: 3, perClass: 10, seed: ApiClient.UniqueSeed())),
            ("width", "12"), ("height", "12"), ("channels", "3")))).GetProperty("id").GetGuid();

        using HttpResponseMessage response = await client.GetAsync($"/api/v1/datasets/{grey}/samples.png");
        byte[] png = await response.Content.ReadAsByteArrayAsync();
        using var revalidate = new HttpRequestMessage(HttpMethod.Get, $"/api/v1/datasets/{grey}/samples.png");
        revalidate.Headers.IfNoneMatch.Add(response.Headers.ETag!);
        using HttpResponseMessage notModified = await client.SendAsync(revalidate);
        using SKBitmap greyImage = await DecodeAsync(client, grey);
        using SKBitmap tableImage = await DecodeAsync(client, table);
        using SKBitmap rgbImage = await DecodeAsync(client, rgb);
        Artifact preview = await api.WithDbAsync(db => db.Artifacts.SingleAsync(a => a.DatasetId == grey && a.Kind == ArtifactKinds.DatasetSamples));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("image/png", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal($"\"{preview.Sha256}\"", response.Headers.ETag?.Tag);
        Assert.True(response.Headers.CacheControl is { Private: true, MaxAge: not null }, response.Headers.CacheControl?.ToString());
        Assert.Equal(HttpStatusCode.NotModified, notModified.StatusCode);
        Assert.Equal(png.Length, preview.SizeBytes);
        Assert.Contains($"datasets/{grey:N}/{SampleGrid.FileName}", api.ArtifactFiles());
        // One row of tiles per class, below the title.
        Assert.Equal(3 * (SampleGrid.Tile + 4), greyImage.Height - 2 * 10 - 26);
        Assert.Equal(2 * (SampleGrid.Tile + 4), tableImage.Height - 2 * 10 - 26);
        Assert.True(greyImage.Width > SampleGrid.PerClass * SampleGrid.Tile);
        Assert.True(TilePixels(greyImage).All(p => p.Red == p.Green && p.Green == p.Blue), "grey samples are grey");
        Assert.True(TilePixels(tableImage).Any(p => p.Red != p.Blue), "CSV tiles mark their unused cells");
        Assert.True(TilePixels(rgbImage).Any(p => p.Red != p.Green), "RGB samples keep their colour");
    }

    [Fact]
    public async Task GetSamplesPng_UnknownOrOtherTenantsDataset_Returns404()
    {
        HttpClient client = api.CreateClient();
        Guid dataset = await ApiClient.UploadDatasetAsync(client);
        HttpClient other = api.CreateClient(await OtherTenantKeyAsync(client));

        using HttpResponseMessage unknown = await client.GetAsync($"/api/v1/datasets/{Guid.CreateVersion7()}/samples.png");
        using HttpResponseMessage foreign = await other.GetAsync($"/api/v1/datasets/{dataset}/samples.png");

        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal("application/problem+json", unknown.Content.Headers.ContentType?.MediaType);
        Assert.Equal(HttpStatusCode.NotFound, foreign.StatusCode);
    }

    [Fact]
    public async Task Upload_SameIdxRawThenGzip_Returns200WithTheExistingDatasetAndStoresNothing()
    {
        HttpClient client = api.CreateClient();
        (byte[] images, byte[] labels) = new IdxBuilder { Samples = 80, Seed = ApiClient.UniqueSeed() }.Build();
        using HttpResponseMessage first = await client.PostAsync("/api/v1/datasets", ApiClient.DatasetForm("original", images, labels));
        JsonElement created = await first.Content.ReadFromJsonAsync<JsonElement>();
        ApiFactory.StoredState before = await api.StoredStateAsync();

        using HttpResponseMessage again = await client.PostAsync("/api/v1/datasets",
            ApiClient.DatasetForm("copy", IdxBuilder.Gzip(images), IdxBuilder.Gzip(labels)));
        JsonElement existing = await again.Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.Equal(created.GetProperty("id").GetGuid(), existing.GetProperty("id").GetGuid());
        Assert.Equal("original", existing.GetProperty("name").GetString());
        Assert.Equal(created.GetProperty("contentHash").GetString(), existing.GetProperty("contentHash").GetString());
        Assert.Equal($"/api/v1/datasets/{created.GetProperty("id").GetGuid()}", again.Headers.Location?.OriginalString);
        Assert.Equal(before, await api.StoredStateAsync());
    }

    [Fact]
    public async Task Upload_SameCsvTwice_Returns200WithTheFirstDataset()
    {
        HttpClient client = api.CreateClient();
        string csv = new CsvBuilder { Rows = 24, Classes = 3, Seed = ApiClient.UniqueSeed() }.Build();
        JsonElement created = await CreateAsync(client, UploadForm.Create("csv", ("data", csv)));
        ApiFactory.StoredState before = await api.StoredStateAsync();

        using HttpResponseMessage again = await client.PostAsync("/api/v1/datasets", UploadForm.Create("csv", ("data", csv)));

        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.Equal(created.GetProperty("id").GetGuid(), (await again.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid());
        Assert.Equal(before, await api.StoredStateAsync());
    }

    [Fact]
    public async Task UploadOverGrpc_ExistingContent_ReturnsItDeduplicated()
    {
        HttpClient client = api.CreateClient();
        (byte[] images, byte[] labels) = new IdxBuilder { Samples = 60, Seed = ApiClient.UniqueSeed() }.Build();
        (byte[] otherImages, byte[] otherLabels) = new IdxBuilder { Samples = 60, Seed = ApiClient.UniqueSeed() }.Build();
        JsonElement created = await CreateAsync(client, ApiClient.DatasetForm("rest", IdxBuilder.Gzip(images), labels));
        using GrpcChannel channel = Channel();
        var datasets = new V1.DatasetService.DatasetServiceClient(channel);
        ApiFactory.StoredState before = await api.StoredStateAsync();

        V1.Dataset same = await UploadOverGrpcAsync(datasets, images, labels);
        ApiFactory.StoredState afterSame = await api.StoredStateAsync();
        V1.Dataset fresh = await UploadOverGrpcAsync(datasets, otherImages, otherLabels);
        V1.Dataset fetched = await datasets.GetDatasetAsync(new V1.GetDatasetRequest { Id = same.Id });

        Assert.True(same.Deduplicated);
        Assert.Equal(created.GetProperty("id").GetString(), same.Id);
        Assert.Equal(before, afterSame);
        Assert.False(fresh.Deduplicated);
        Assert.NotEqual(same.Id, fresh.Id);
        Assert.False(fetched.Deduplicated);
    }

    [Fact]
    public async Task Upload_SameContentAsAnotherTenant_CreatesItsOwnDataset()
    {
        HttpClient client = api.CreateClient();
        (byte[] images, byte[] labels) = new IdxBuilder { Samples = 60, Seed = ApiClient.UniqueSeed() }.Build();
        JsonElement mine = await CreateAsync(client, ApiClient.DatasetForm("mine", images, labels));
        HttpClient other = api.CreateClient(await OtherTenantKeyAsync(client));

        JsonElement theirs = await CreateAsync(other, ApiClient.DatasetForm("theirs", images, labels));

        Assert.NotEqual(mine.GetProperty("id").GetGuid(), theirs.GetProperty("id").GetGuid());
        Assert.Equal(mine.GetProperty("contentHash").GetString(), theirs.GetProperty("contentHash").GetString());
    }

    private GrpcChannel Channel() =>
        GrpcChannel.ForAddress(api.Server.BaseAddress, new GrpcChannelOptions { HttpHandler = api.CreateGrpcHandler() });

    private static async Task<V1.Dataset> UploadOverGrpcAsync(V1.DatasetService.DatasetServiceClient datasets, byte[] images, byte[] labels)
    {
        using var call = datasets.UploadDataset();
        await call.RequestStream.WriteAsync(new V1.UploadDatasetRequest { Metadata = new V1.DatasetMetadata { Name = "grpc", Format = "idx" } });
        await call.RequestStream.WriteAsync(new V1.UploadDatasetRequest { Chunk = new V1.DatasetChunk { File = V1.DatasetFile.Images, Data = ByteString.CopyFrom(images) } });
        await call.RequestStream.WriteAsync(new V1.UploadDatasetRequest { Chunk = new V1.DatasetChunk { File = V1.DatasetFile.Labels, Data = ByteString.CopyFrom(labels) } });
        await call.RequestStream.CompleteAsync();
        return await call.ResponseAsync;
    }

    /// <summary>An API key of a new tenant, made with the admin key of <paramref name="admin"/>.</summary>
    private static async Task<string> OtherTenantKeyAsync(HttpClient admin)
    {
        using HttpResponseMessage tenant = await admin.PostAsJsonAsync("/api/v1/tenants", new { name = $"other-{Guid.NewGuid():N}" });
        Assert.True(tenant.StatusCode == HttpStatusCode.Created, await tenant.Content.ReadAsStringAsync());
        Guid tenantId = (await tenant.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        using HttpResponseMessage key = await admin.PostAsJsonAsync($"/api/v1/tenants/{tenantId}/keys", new { name = "tests" });
        Assert.True(key.IsSuccessStatusCode, await key.Content.ReadAsStringAsync());
        return (await key.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("key").GetString()!;
    }

    private static async Task<SKBitmap> DecodeAsync(HttpClient client, Guid dataset)
    {
        byte[] png = await client.GetByteArrayAsync($"/api/v1/datasets/{dataset}/samples.png");
        Assert.Equal(new byte[] { 0x89, 0x50, 0x4e, 0x47 }, png[..4]);
        return SKBitmap.Decode(png) ?? throw new InvalidOperationException("samples.png does not decode");
    }

    /// <summary>Pixels inside the first row's tiles (right of the label column, inside each frame).</summary>
    private static IEnumerable<SKColor> TilePixels(SKBitmap image)
    {
        int top = 10 + 26;
        int left = image.Width - 10 - SampleGrid.PerClass * (SampleGrid.Tile + 4);
        for (int k = 0; k < SampleGrid.PerClass; k++)
        {
            for (int y = top + 2; y < top + SampleGrid.Tile - 2; y++)
            {
                for (int x = left + k * (SampleGrid.Tile + 4) + 2; x < left + k * (SampleGrid.Tile + 4) + SampleGrid.Tile - 2; x++)
                {
                    yield return image.GetPixel(x, y);
                }
            }
        }
    }

    private static byte[] Relabel(byte[] labelsIdx) => labelsIdx[8..].Select(l => (byte)(l % 2)).ToArray();

    private static int[] Ints(JsonElement dataset, string property) =>
        dataset.GetProperty(property).EnumerateArray().Select(e => e.GetInt32()).ToArray();

    private static async Task<JsonElement> CreateAsync(HttpClient client, MultipartFormDataContent form)
    {
        using HttpResponseMessage response = await client.PostAsync("/api/v1/datasets", form);
        string body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Created, body);
        return JsonDocument.Parse(body).RootElement;
    }
}

/// <summary>Multipart dataset forms for the summary and limits tests.</summary>
public static class UploadForm
{
    /// <summary>A form with <c>name</c> and <c>format</c>; byte[] values are files, strings of file fields are UTF-8 files.</summary>
    public static MultipartFormDataContent Create(string format, params (string Field, object Value)[] parts)
    {
        var form = new MultipartFormDataContent { { new StringContent("summary"), "name" }, { new StringContent(format), "format" } };
        string[] files = ["data", "testData", "archive", "images", "labels", "testImages", "testLabels"];
        foreach ((string field, object value) in parts)
        {
            if (!files.Contains(field))
            {
                form.Add(new StringContent((string)value), field);
                continue;
            }
            var content = new ByteArrayContent(value as byte[] ?? System.Text.Encoding.UTF8.GetBytes((string)value));
            content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            form.Add(content, field, field);
        }
        return form;
    }
}

public sealed class SqliteDatasetSummaryTests(SqliteApi api) : DatasetSummaryTests<SqliteApi>(api), IClassFixture<SqliteApi>;

public sealed class PostgresDatasetSummaryTests(PostgresApi api) : DatasetSummaryTests<PostgresApi>(api), IClassFixture<PostgresApi>;

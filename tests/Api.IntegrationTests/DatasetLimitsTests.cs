extern alias sdk;

using System.IO.Compression;
using Google.Protobuf;
using Google.Rpc;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Hosting;
using V1 = sdk::TrainingService.Sdk.V1;

namespace Api.IntegrationTests;

/// <summary>An Api whose <c>Datasets:Limits</c> are tiny, set through configuration, so small uploads reach every limit.</summary>
public abstract class LowLimitsApi(StorageProvider provider) : ApiFactory(provider)
{
    public static readonly IReadOnlyDictionary<string, long> Limits = new Dictionary<string, long>
    {
        ["MaxSamples"] = 50,
        ["MaxClasses"] = 3,
        ["MaxFeatures"] = 4,
        ["MaxImageSide"] = 16,
        ["MaxZipEntries"] = 6,
        ["MaxZipEntryBytes"] = 2000,
        ["MaxUncompressedBytes"] = 20_000,
        ["MaxCompressionRatio"] = 20,
        ["MaxDecodedBytes"] = 8192,
        ["MaxSourcePixels"] = 100,
    };

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        base.ConfigureWebHost(builder);
        foreach ((string limit, long value) in Limits)
        {
            builder.UseSetting($"Datasets:Limits:{limit}", value.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
    }
}

public sealed class SqliteLowLimitsApi() : LowLimitsApi(StorageProvider.Sqlite);

public sealed class PostgresLowLimitsApi() : LowLimitsApi(StorageProvider.Postgres);

/// <summary>Uploads over a configured <c>Datasets:Limits</c> setting: 400 naming the field, the limit and its key; nothing stored.</summary>
public abstract class DatasetLimitsTests<TApi>(TApi api) where TApi : LowLimitsApi
{
    public static TheoryData<string, string, string> OverLimit() => new()
    {
        { "idx-samples", "images", "MaxSamples" },
        { "idx-test-samples", "testImages", "MaxSamples" },
        { "idx-classes", "labels", "MaxClasses" },
        { "idx-gzip-decoded", "images", "MaxDecodedBytes" },
        { "csv-rows", "data", "MaxSamples" },
        { "csv-test-rows", "testData", "MaxSamples" },
        { "csv-features", "data", "MaxFeatures" },
        { "csv-classes", "data", "MaxClasses" },
        { "csv-integer-classes", "data", "MaxClasses" },
        { "zip-side", "width", "MaxImageSide" },
        { "zip-entries", "archive", "MaxZipEntries" },
        { "zip-classes", "archive", "MaxClasses" },
        { "zip-entry-bytes", "archive", "MaxZipEntryBytes" },
        { "zip-total-bytes", "archive", "MaxUncompressedBytes" },
        { "zip-ratio", "archive", "MaxCompressionRatio" },
        { "zip-source-pixels", "archive", "MaxSourcePixels" },
    };

    [Theory]
    [MemberData(nameof(OverLimit))]
    public async Task Upload_OverConfiguredLimit_Returns400NamingFieldLimitAndKeyAndLeavesNothing(string kind, string field, string limit)
    {
        HttpClient client = api.CreateClient();
        ApiFactory.StoredState before = await api.StoredStateAsync();
        byte[] png = ImageZipBuilder.Png(4, (_, _) => SkiaSharp.SKColors.White);
        byte[] Zip(params (string Name, byte[] Content, CompressionLevel Level)[] entries) => ImageZipBuilder.Zip(z =>
        {
            foreach ((string name, byte[] content, CompressionLevel level) in entries)
            {
                ImageZipBuilder.Add(z, name, content, level);
            }
        });
        (string, byte[], CompressionLevel) Png(string name) => (name, png, CompressionLevel.Optimal);
        string Csv(int rows, int classes = 2, int features = 2) => new CsvBuilder { Rows = rows, Classes = classes, Features = features }.Build();

        MultipartFormDataContent form = kind switch
        {
            "idx-samples" => Idx(new IdxBuilder { Samples = 51, Classes = 3 }),
            "idx-test-samples" => Idx(new IdxBuilder { Samples = 40, Classes = 3 }, new IdxBuilder { Samples = 51, Classes = 3 }),
            "idx-classes" => Idx(new IdxBuilder { Samples = 40, Classes = 4 }),
            "idx-gzip-decoded" => UploadForm.Create("idx",
                ("images", IdxBuilder.Gzip(IdxBuilder.Encode(new byte[200 * 64], 200, 8, 8))), ("labels", IdxBuilder.Encode(new byte[200], 200))),
            "csv-rows" => UploadForm.Create("csv", ("data", Csv(51))),
            "csv-test-rows" => UploadForm.Create("csv", ("data", Csv(20)), ("testData", Csv(51))),
            "csv-features" => UploadForm.Create("csv", ("data", Csv(10, features: 5))),
            "csv-classes" => UploadForm.Create("csv", ("data", Csv(12, classes: 4))),
            "csv-integer-classes" => UploadForm.Create("csv", ("data", "x,label\n1,0\n2,7\n")),
            "zip-side" => UploadForm.Create("zip", ("archive", Zip(Png("a/x.png"), Png("b/y.png"))), ("width", "17")),
            "zip-entries" => UploadForm.Create("zip", ("archive", Zip(
                Png("a/1.png"), Png("a/2.png"), Png("a/3.png"), Png("a/4.png"), Png("b/1.png"), Png("b/2.png"), Png("b/3.png")))),
            "zip-classes" => UploadForm.Create("zip", ("archive", Zip(Png("a/x.png"), Png("b/x.png"), Png("c/x.png"), Png("d/x.png")))),
            "zip-entry-bytes" => UploadForm.Create("zip", ("archive", Zip(Png("a/x.png"), ("b/y.png", RandomBytes(3000), CompressionLevel.NoCompression)))),
            "zip-total-bytes" => UploadForm.Create("zip", ("archive", Zip(Enumerable.Range(0, 11)
                .Select(i => ($"{(char)('a' + i % 2)}/{i}.png", RandomBytes(1900), CompressionLevel.NoCompression)).ToArray()))),
            "zip-ratio" => UploadForm.Create("zip", ("archive", Zip(Png("a/x.png"), ("b/y.png", new byte[1500], CompressionLevel.Optimal)))),
            "zip-source-pixels" => UploadForm.Create("zip", ("archive", Zip(Png("a/x.png"),
                ("b/y.png", ImageZipBuilder.Png(11, (_, _) => SkiaSharp.SKColors.White), CompressionLevel.Optimal)))),
            _ => throw new ArgumentOutOfRangeException(nameof(kind)),
        };
        using HttpResponseMessage response = await client.PostAsync("/api/v1/datasets", form);
        string body = await response.Content.ReadAsStringAsync();

        await ApiClient.AssertProblemAsync(response, HttpStatusCode.BadRequest, field);
        string message = string.Join(" ", JsonDocument.Parse(body).RootElement.GetProperty("errors").GetProperty(field).EnumerateArray().Select(e => e.GetString()));
        Assert.Contains($"(Datasets:Limits:{limit})", message);
        Assert.Contains(LowLimitsApi.Limits[limit].ToString(System.Globalization.CultureInfo.InvariantCulture), message);
        Assert.Equal(before, await api.StoredStateAsync());
    }

    [Fact]
    public async Task Upload_IdxOverLimitOverGrpc_InvalidArgumentNamingFieldAndKey()
    {
        (byte[] images, byte[] labels) = new IdxBuilder { Samples = 51, Classes = 3 }.Build();
        using GrpcChannel channel = GrpcChannel.ForAddress(api.Server.BaseAddress, new GrpcChannelOptions { HttpHandler = api.CreateGrpcHandler() });
        var datasets = new V1.DatasetService.DatasetServiceClient(channel);
        ApiFactory.StoredState before = await api.StoredStateAsync();

        using var call = datasets.UploadDataset();
        await call.RequestStream.WriteAsync(new V1.UploadDatasetRequest { Metadata = new V1.DatasetMetadata { Name = "over", Format = "idx" } });
        await call.RequestStream.WriteAsync(new V1.UploadDatasetRequest { Chunk = new V1.DatasetChunk { File = V1.DatasetFile.Images, Data = ByteString.CopyFrom(images) } });
        await call.RequestStream.WriteAsync(new V1.UploadDatasetRequest { Chunk = new V1.DatasetChunk { File = V1.DatasetFile.Labels, Data = ByteString.CopyFrom(labels) } });
        await call.RequestStream.CompleteAsync();
        RpcException error = await Assert.ThrowsAsync<RpcException>(() => call.ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        BadRequest.Types.FieldViolation violation = Assert.Single(error.GetRpcStatus()!.GetDetail<BadRequest>()!.FieldViolations);
        Assert.Equal("images", violation.Field);
        Assert.Contains("has 51 samples; the limit is 50 (Datasets:Limits:MaxSamples)", violation.Description);
        Assert.Equal(before, await api.StoredStateAsync());
    }

    [Fact]
    public async Task Upload_AtTheConfiguredLimits_IsAccepted()
    {
        HttpClient client = api.CreateClient();
        (byte[] images, byte[] labels) = new IdxBuilder { Samples = 50, Classes = 3 }.Build();
        byte[] png = ImageZipBuilder.Png(4, (_, _) => SkiaSharp.SKColors.Gray);
        byte[] archive = ImageZipBuilder.Zip(z =>
        {
            foreach (string name in new[] { "a/1.png", "a/2.png", "b/1.png", "b/2.png", "c/1.png" })
            {
                ImageZipBuilder.Add(z, name, png);
            }
            // 10×10: exactly MaxSourcePixels.
            ImageZipBuilder.Add(z, "c/2.png", ImageZipBuilder.Png(10, (x, y) => (x + y) % 2 == 0 ? SkiaSharp.SKColors.Gray : SkiaSharp.SKColors.White));
        });

        using HttpResponseMessage idx = await client.PostAsync("/api/v1/datasets", ApiClient.DatasetForm("at-limit", IdxBuilder.Gzip(images), labels));
        using HttpResponseMessage csv = await client.PostAsync("/api/v1/datasets",
            UploadForm.Create("csv", ("data", new CsvBuilder { Rows = 50, Classes = 3, Features = 4 }.Build())));
        using HttpResponseMessage zip = await client.PostAsync("/api/v1/datasets",
            UploadForm.Create("zip", ("archive", archive), ("width", "16"), ("height", "16")));

        Assert.True(idx.StatusCode == HttpStatusCode.Created, await idx.Content.ReadAsStringAsync());
        Assert.True(csv.StatusCode == HttpStatusCode.Created, await csv.Content.ReadAsStringAsync());
        Assert.True(zip.StatusCode == HttpStatusCode.Created, await zip.Content.ReadAsStringAsync());
    }

    private static MultipartFormDataContent Idx(IdxBuilder train, IdxBuilder? test = null)
    {
        (byte[] images, byte[] labels) = train.Build();
        MultipartFormDataContent form = ApiClient.DatasetForm("over", images, labels);
        if (test is not null)
        {
            (byte[] testImages, byte[] testLabels) = test.Build();
            form.Add(ApiClient.File(testImages), "testImages", "t-images.idx");
            form.Add(ApiClient.File(testLabels), "testLabels", "t-labels.idx");
        }
        return form;
    }

    private static byte[] RandomBytes(int length)
    {
        var bytes = new byte[length];
        new Random(length).NextBytes(bytes);
        return bytes;
    }
}

public sealed class SqliteDatasetLimitsTests(SqliteLowLimitsApi api) : DatasetLimitsTests<SqliteLowLimitsApi>(api), IClassFixture<SqliteLowLimitsApi>;

public sealed class PostgresDatasetLimitsTests(PostgresLowLimitsApi api) : DatasetLimitsTests<PostgresLowLimitsApi>(api), IClassFixture<PostgresLowLimitsApi>;

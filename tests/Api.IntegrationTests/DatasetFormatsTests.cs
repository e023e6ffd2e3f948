extern alias sdk;

using System.Text;
using Google.Protobuf;
using Grpc.Net.Client;
using V1 = sdk::TrainingService.Sdk.V1;

namespace Api.IntegrationTests;

/// <summary>CSV and image-folder ZIP uploads: converted to the IDX layout at upload, then trained by the unchanged worker.</summary>
public abstract class DatasetFormatsTests<TApi>(TApi api) where TApi : ApiFactory
{
    [Fact]
    public async Task UploadCsv_SeparableTable_TrainsAboveChance()
    {
        HttpClient client = api.CreateClient();
        string csv = new CsvBuilder { LabelName = "species" }.Build();
        string test = new CsvBuilder { LabelName = "species", Rows = 80, Seed = 12 }.Build();

        JsonElement dataset = await UploadAsync(client, Form("csv", ("data", csv), ("testData", test), ("labelColumn", "species")));

        Assert.Equal("csv", dataset.GetProperty("format").GetString());
        Assert.Equal([8], dataset.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()).ToArray());
        Assert.Equal(4, dataset.GetProperty("classes").GetInt32());
        Assert.Equal(400, dataset.GetProperty("samples").GetInt32());
        Assert.Equal(80, dataset.GetProperty("testSamples").GetInt32());
        Guid id = dataset.GetProperty("id").GetGuid();
        JsonElement fetched = await client.GetFromJsonAsync<JsonElement>($"/api/v1/datasets/{id}");
        Assert.Equal("csv", fetched.GetProperty("format").GetString());
        // Four balanced classes: chance is 0.25.
        Assert.True(await TrainAsync(client, id, epochs: 8) > 0.6);
    }

    [Fact]
    public async Task UploadCsv_SemicolonsIntegerLabelsNoHeader_DetectsLayout()
    {
        HttpClient client = api.CreateClient();
        var csv = new StringBuilder();
        for (int n = 0; n < 40; n++)
        {
            csv.Append($"{n % 2};{n};{(n % 2) * 10 + 0.5}\n");
        }

        JsonElement dataset = await UploadAsync(client, Form("csv", ("data", csv.ToString())));

        Assert.Equal([2], dataset.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()).ToArray());
        Assert.Equal(2, dataset.GetProperty("classes").GetInt32());
        Assert.Equal(40, dataset.GetProperty("samples").GetInt32());
    }

    [Fact]
    public async Task UploadZip_GeneratedPngs_HasShapeAndClassesAndTrains()
    {
        HttpClient client = api.CreateClient();
        byte[] archive = ImageZipBuilder.Build();

        JsonElement grey = await UploadAsync(client, Form("zip", ("archive", archive), ("width", "8"), ("height", "8")));
        JsonElement rgb = await UploadAsync(client, Form("zip", ("archive", ImageZipBuilder.Build(split: true)), ("width", "6"), ("height", "4"), ("channels", "3")));

        Assert.Equal("zip", grey.GetProperty("format").GetString());
        Assert.Equal([8, 8], grey.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()).ToArray());
        Assert.Equal(3, grey.GetProperty("classes").GetInt32());
        Assert.Equal(180, grey.GetProperty("samples").GetInt32());
        Assert.Equal(0, grey.GetProperty("testSamples").GetInt32());
        Assert.Equal([3, 4, 6], rgb.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()).ToArray());
        Assert.Equal(144, rgb.GetProperty("samples").GetInt32());
        Assert.Equal(36, rgb.GetProperty("testSamples").GetInt32());
        // Three balanced classes: chance is 1/3.
        Assert.True(await TrainAsync(client, grey.GetProperty("id").GetGuid(), epochs: 9) > 0.6);
    }

    [Fact]
    public async Task UploadCsv_OverGrpc_UsesFileTagsAndOptions()
    {
        using GrpcChannel channel = GrpcChannel.ForAddress(api.Server.BaseAddress, new GrpcChannelOptions { HttpHandler = api.CreateGrpcHandler() });
        var datasets = new V1.DatasetService.DatasetServiceClient(channel);
        string csv = new CsvBuilder { LabelName = "species", Rows = 40 }.Build();

        using var call = datasets.UploadDataset();
        var metadata = new V1.DatasetMetadata { Name = "grpc-csv", Format = "csv" };
        metadata.Options["labelColumn"] = "species";
        await call.RequestStream.WriteAsync(new V1.UploadDatasetRequest { Metadata = metadata });
        await call.RequestStream.WriteAsync(new V1.UploadDatasetRequest { Chunk = new V1.DatasetChunk { File = V1.DatasetFile.Data, Data = ByteString.CopyFromUtf8(csv) } });
        await call.RequestStream.CompleteAsync();
        V1.Dataset dataset = await call.ResponseAsync;

        Assert.Equal("csv", dataset.Format);
        Assert.Equal(4, dataset.Classes);
        Assert.Equal(40, dataset.Samples);
        Assert.Equal([8], dataset.Shape.ToArray());
    }

    public static TheoryData<string, string> BadUploads() => new()
    {
        { "csv-nan", "data" },
        { "csv-infinity", "data" },
        { "csv-ragged", "data" },
        { "csv-header-only", "data" },
        { "csv-empty", "data" },
        { "csv-single-class", "data" },
        { "csv-missing-label-column", "labelColumn" },
        { "csv-delimiter-mix", "data" },
        { "csv-test-columns-differ", "testData" },
        { "csv-test-unknown-label", "testData" },
        { "csv-bad-has-header", "hasHeader" },
        { "csv-idx-file-field", "images" },
        { "zip-traversal", "archive" },
        { "zip-backslash", "archive" },
        { "zip-bomb", "archive" },
        { "zip-non-image", "archive" },
        { "zip-undecodable", "archive" },
        { "zip-one-class", "archive" },
        { "zip-empty", "archive" },
        { "zip-not-zip", "archive" },
        { "zip-bad-width", "width" },
        { "zip-bad-channels", "channels" },
        { "zip-missing-archive", "archive" },
        { "idx-archive-not-zip", "archive" },
        { "idx-archive-no-idx-files", "archive" },
        { "idx-archive-two-image-files", "archive" },
        { "idx-archive-and-files", "archive" },
        { "idx-archive-no-labels", "labels" },
        { "idx-archive-bad-images", "images" },
    };

    [Theory]
    [MemberData(nameof(BadUploads))]
    public async Task Upload_BadCsvOrZip_Returns400NamingFieldAndLeavesNothing(string kind, string field)
    {
        HttpClient client = api.CreateClient();
        string good = new CsvBuilder { Rows = 20 }.Build();
        byte[] png = ImageZipBuilder.Png(4, (_, _) => SkiaSharp.SKColors.White);
        (byte[] idxImages, byte[] idxLabels) = new IdxBuilder { Samples = 40, Seed = ApiClient.UniqueSeed() }.Build();
        ApiFactory.StoredState before = await api.StoredStateAsync();

        byte[] Zip(params (string Name, byte[] Content)[] entries) => ImageZipBuilder.Zip(z =>
        {
            foreach ((string name, byte[] content) in entries)
            {
                ImageZipBuilder.Add(z, name, content);
            }
        });
        MultipartFormDataContent form = kind switch
        {
            "csv-nan" => Form("csv", ("data", "x,y,label\n1,2,0\n3,NaN,1\n")),
            "csv-infinity" => Form("csv", ("data", "x,y,label\n1,2,0\n3,Infinity,1\n")),
            "csv-ragged" => Form("csv", ("data", "x,y,label\n1,2,0\n3,1\n")),
            "csv-header-only" => Form("csv", ("data", "x,y,label\n")),
            "csv-empty" => Form("csv", ("data", "\n\n")),
            "csv-single-class" => Form("csv", ("data", "x,y,label\n1,2,0\n3,4,0\n")),
            "csv-missing-label-column" => Form("csv", ("data", good), ("labelColumn", "colour")),
            "csv-delimiter-mix" => Form("csv", ("data", "x,y,label\n1;2;0\n3;4;1\n")),
            "csv-test-columns-differ" => Form("csv", ("data", good), ("testData", "x0,x1,species\n1,2,class-a\n")),
            "csv-test-unknown-label" => Form("csv", ("data", good), ("testData", good.Replace("class-b", "class-z"))),
            "csv-bad-has-header" => Form("csv", ("data", good), ("hasHeader", "maybe")),
            "csv-idx-file-field" => Form("csv", ("data", good), ("images", new byte[] { 0, 0, 8, 1 })),
            "zip-traversal" => Form("zip", ("archive", Zip(("a/x.png", png), ("b/../../evil.png", png)))),
            "zip-backslash" => Form("zip", ("archive", Zip(("a/x.png", png), ("b\\y.png", png)))),
            "zip-bomb" => Form("zip", ("archive", Zip(("a/x.png", png), ("b/y.png", new byte[4 << 20])))),
            "zip-non-image" => Form("zip", ("archive", Zip(("a/x.png", png), ("b/notes.txt", "hello"u8.ToArray())))),
            "zip-undecodable" => Form("zip", ("archive", Zip(("a/x.png", png), ("b/y.png", "not a png"u8.ToArray())))),
            "zip-one-class" => Form("zip", ("archive", Zip(("a/x.png", png), ("a/y.png", png)))),
            "zip-empty" => Form("zip", ("archive", Zip())),
            "zip-not-zip" => Form("zip", ("archive", "plain text"u8.ToArray())),
            "zip-bad-width" => Form("zip", ("archive", Zip(("a/x.png", png), ("b/y.png", png))), ("width", "513")),
            "zip-bad-channels" => Form("zip", ("archive", Zip(("a/x.png", png), ("b/y.png", png))), ("channels", "2")),
            "zip-missing-archive" => Form("zip", ("data", good)),
            "idx-archive-not-zip" => Form("idx", ("archive", "plain text"u8.ToArray())),
            "idx-archive-no-idx-files" => Form("idx", ("archive", Zip(("readme.txt", "hello"u8.ToArray())))),
            "idx-archive-two-image-files" => Form("idx", ("archive", Zip(("train-images-idx3-ubyte", idxImages), ("a/train-images.gz", idxImages), ("train-labels", idxLabels)))),
            "idx-archive-and-files" => Form("idx", ("archive", Zip(("train-images", idxImages), ("train-labels", idxLabels))), ("images", idxImages)),
            "idx-archive-no-labels" => Form("idx", ("archive", Zip(("mnist/train-images-idx3-ubyte", idxImages)))),
            "idx-archive-bad-images" => Form("idx", ("archive", Zip(("train-images", idxImages[..^5]), ("train-labels", idxLabels)))),
            _ => throw new ArgumentOutOfRangeException(nameof(kind)),
        };
        using HttpResponseMessage response = await client.PostAsync("/api/v1/datasets", form);

        await ApiClient.AssertProblemAsync(response, HttpStatusCode.BadRequest, field);
        Assert.Equal(before, await api.StoredStateAsync());
    }

    [Fact]
    public async Task UploadIdxArchive_MnistNamesInAFolder_SameDatasetAsTheSeparateFiles()
    {
        HttpClient client = api.CreateClient();
        (byte[] images, byte[] labels) = new IdxBuilder { Seed = ApiClient.UniqueSeed() }.Build();
        (byte[] testImages, byte[] testLabels) = new IdxBuilder { Samples = 80, Seed = ApiClient.UniqueSeed() }.Build();
        byte[] archive = ImageZipBuilder.Zip(z =>
        {
            ImageZipBuilder.Add(z, "fashion/train-images-idx3-ubyte.gz", IdxBuilder.Gzip(images));
            ImageZipBuilder.Add(z, "fashion/train-labels-idx1-ubyte", labels);
            ImageZipBuilder.Add(z, "fashion/t10k-images-idx3-ubyte", testImages);
            ImageZipBuilder.Add(z, "fashion/t10k-labels-idx1-ubyte.gz", IdxBuilder.Gzip(testLabels));
            ImageZipBuilder.Add(z, "fashion/README.md", "ignored"u8.ToArray());
        });

        JsonElement fromArchive = await UploadAsync(client, Form("idx", ("archive", archive)));
        MultipartFormDataContent separate = ApiClient.DatasetForm("formats", images, labels);
        separate.Add(ApiClient.File(testImages), "testImages", "t-images.idx");
        separate.Add(ApiClient.File(testLabels), "testLabels", "t-labels.idx");
        using HttpResponseMessage again = await client.PostAsync("/api/v1/datasets", separate);

        Assert.Equal("idx", fromArchive.GetProperty("format").GetString());
        Assert.Equal(400, fromArchive.GetProperty("samples").GetInt32());
        Assert.Equal(80, fromArchive.GetProperty("testSamples").GetInt32());
        // The same content: the separate files are recognised as the archive's dataset (per-tenant dedupe).
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.Equal(fromArchive.GetProperty("id").GetGuid(), (await again.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid());
    }

    /// <summary>A form with <c>name</c> and <c>format</c>; string values of file fields are sent as UTF-8 files.</summary>
    private static MultipartFormDataContent Form(string format, params (string Field, object Value)[] parts)
    {
        var form = new MultipartFormDataContent { { new StringContent("formats"), "name" }, { new StringContent(format), "format" } };
        string[] files = ["data", "testData", "archive", "images"];
        foreach ((string field, object value) in parts)
        {
            if (!files.Contains(field))
            {
                form.Add(new StringContent((string)value), field);
                continue;
            }
            byte[] bytes = value as byte[] ?? Encoding.UTF8.GetBytes((string)value);
            form.Add(ApiClient.File(bytes), field, field == "archive" ? "images.zip" : $"{field}.csv");
        }
        return form;
    }

    private static async Task<JsonElement> UploadAsync(HttpClient client, MultipartFormDataContent form)
    {
        using HttpResponseMessage response = await client.PostAsync("/api/v1/datasets", form);
        string body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Created, body);
        return JsonDocument.Parse(body).RootElement;
    }

    /// <summary>Runs a real training job and returns the full-rank accuracy of its curve.</summary>
    private static async Task<double> TrainAsync(HttpClient client, Guid datasetId, int epochs)
    {
        using HttpResponseMessage submitted = await client.PostAsJsonAsync("/api/v1/jobs", ApiClient.JobSpec(datasetId, epochs: epochs, maxRank: 8));
        Assert.True(submitted.StatusCode == HttpStatusCode.Accepted, await submitted.Content.ReadAsStringAsync());
        Guid jobId = (await submitted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        JsonElement job = await ApiClient.WaitForJobAsync(client, jobId, j => j.Status() is "Succeeded" or "Failed" or "Cancelled", TimeSpan.FromMinutes(3));
        Assert.True(job.Status() == "Succeeded", job.ToString());
        Guid runId = Assert.Single(job.GetProperty("runIds").EnumerateArray()).GetGuid();
        JsonElement curve = await client.GetFromJsonAsync<JsonElement>($"/api/v1/runs/{runId}/curve");
        return curve.GetProperty("points").EnumerateArray().Last().GetProperty("accuracy").GetDouble();
    }
}

public sealed class SqliteDatasetFormatsTests(SqliteApi api) : DatasetFormatsTests<SqliteApi>(api), IClassFixture<SqliteApi>;

public sealed class PostgresDatasetFormatsTests(PostgresApi api) : DatasetFormatsTests<PostgresApi>(api), IClassFixture<PostgresApi>;

extern alias sdk;

using System.Diagnostics;
using System.Globalization;
using System.IO.Compression;
using System.Text;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using V1 = sdk::TrainingService.Sdk.V1;

namespace Api.IntegrationTests;

/// <summary>
/// Bounded work per request (issue 13, item 2): the reproductions of the report as regression tests. Converted dataset
/// size, job-spec bodies (REST and gRPC), multipart text fields, RFC 4180 CSV and its line length.
/// </summary>
public abstract class RequestLimitsTests<TApi>(TApi api) where TApi : ApiFactory
{
    private const string DefaultSpec = """{"datasetId":"00000000-0000-0000-0000-000000000001","model":{"kind":"mlp","hidden":[8]},"training":{"epochs":1}}""";

    [Fact]
    public async Task UploadZip_ThousandTinyPngsResizedTo512x512x3_IsRefusedFromDeclaredSizesBeforeDecoding()
    {
        // The report: 1,000 stored 1×1 PNGs (163 KB) at width=height=512, channels=3 converted to 786 MB.
        byte[] png = ImageZipBuilder.Png(1, (_, _) => SkiaSharp.SKColors.White);
        byte[] archive = ImageZipBuilder.Zip(zip =>
        {
            for (int i = 0; i < 1000; i++)
            {
                ImageZipBuilder.Add(zip, $"{(i % 2 == 0 ? "a" : "b")}/{i}.png", png, CompressionLevel.NoCompression);
            }
        });
        await using WebApplicationFactory<Program> limited = WithSettings(("Datasets:Limits:MaxConvertedBytes", (256L << 20).ToString(CultureInfo.InvariantCulture)));
        HttpClient client = CreateClient(limited);
        ApiFactory.StoredState before = await api.StoredStateAsync();
        var form = new MultipartFormDataContent
        {
            { new StringContent("tiny-pngs"), "name" },
            { new StringContent("zip"), "format" },
            { new StringContent("512"), "width" },
            { new StringContent("512"), "height" },
            { new StringContent("3"), "channels" },
            { new ByteArrayContent(archive), "archive", "archive.zip" },
        };

        var watch = Stopwatch.StartNew();
        using HttpResponseMessage response = await client.PostAsync("/api/v1/datasets", form);
        watch.Stop();

        string message = await FieldErrorAsync(response, HttpStatusCode.BadRequest, "archive");
        Assert.Contains("786433000 bytes", message);
        Assert.Contains("Datasets:Limits:MaxConvertedBytes", message);
        // Nothing was decoded: the report's conversion took 24 s of CPU.
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10), $"took {watch.Elapsed}");
        Assert.Equal(before, await api.StoredStateAsync());
    }

    [Fact]
    public void ImageFolderFormat_CancelledToken_StopsBeforeTheNextImage()
    {
        string path = Path.Combine(api.DataDirectory, $"cancel-{Guid.NewGuid():N}.zip");
        File.WriteAllBytes(path, ImageZipBuilder.Build(classes: 2, perClass: 3, side: 4));
        try
        {
            Assert.ThrowsAny<OperationCanceledException>(() => global::Infrastructure.Datasets.ImageFolderFormat.Convert(path, 8, 8, 1, new Domain.Datasets.DatasetLimitsOptions(),
                new MemoryStream(), new MemoryStream(), () => (new MemoryStream(), new MemoryStream()), new CancellationToken(canceled: true)));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task SubmitJob_SpecPaddedWith50MBOfWhitespace_Is413NamingTheSetting()
    {
        HttpClient client = api.CreateClient();
        byte[] padded = Encoding.UTF8.GetBytes(DefaultSpec[..^1] + new string(' ', 50 << 20) + "}");

        using HttpResponseMessage response = await client.PostAsync("/api/v1/jobs", new ByteArrayContent(padded) { Headers = { ContentType = new("application/json") } });

        await AssertProblemAsync(response, HttpStatusCode.RequestEntityTooLarge, "Api:MaxJobSpecBytes");
    }

    [Fact]
    public async Task SubmitJob_ChunkedSpecOverTheLimit_StopsReadingAndIs413()
    {
        HttpClient client = api.CreateClient();
        // No Content-Length, so the limit applies while reading. (TestServer sends the whole body before it answers, so how
        // far the server read is not observable here; JobSpecBody stops at the first byte past the limit.)
        var body = new GeneratedStream(Encoding.UTF8.GetBytes(DefaultSpec[..^1]), (byte)' ', 50L << 20);
        var content = new StreamContent(body);
        content.Headers.ContentType = new("application/json");

        using HttpResponseMessage response = await client.PostAsync("/api/v1/jobs", content);

        await AssertProblemAsync(response, HttpStatusCode.RequestEntityTooLarge, "Api:MaxJobSpecBytes");
    }

    [Fact]
    public async Task GrpcSubmitJob_SpecOverTheLimit_IsResourceExhaustedNamingTheSetting()
    {
        using GrpcChannel channel = GrpcChannel.ForAddress(api.Server.BaseAddress, new GrpcChannelOptions { HttpHandler = api.CreateGrpcHandler() });
        var jobs = new V1.JobService.JobServiceClient(channel);
        string spec = DefaultSpec[..^1] + new string(' ', 100 << 10) + "}";

        var ex = await Assert.ThrowsAsync<RpcException>(() => jobs.SubmitJobAsync(new V1.SubmitJobRequest { SpecJson = spec }).ResponseAsync);

        Assert.Equal(StatusCode.ResourceExhausted, ex.StatusCode);
        Assert.Contains("Api:MaxJobSpecBytes", ex.Status.Detail);
    }

    [Fact]
    public async Task Upload_HugeNameField_Is400NamingTheFieldWithoutReadingItWhole()
    {
        HttpClient client = api.CreateClient();
        ApiFactory.StoredState before = await api.StoredStateAsync();
        // The report's 300 MB field; the server buffers at most Api:MaxFormFieldLength + 64 KiB of it (TestServer still sends it all).
        var name = new GeneratedStream([], (byte)'n', 300L << 20);
        var form = new MultipartFormDataContent { { new StreamContent(name), "name" } };

        using HttpResponseMessage response = await client.PostAsync("/api/v1/datasets", form);

        Assert.Contains("Api:MaxFormFieldLength", await FieldErrorAsync(response, HttpStatusCode.BadRequest, "name"));
        Assert.Equal(before, await api.StoredStateAsync());
    }

    [Fact]
    public async Task UploadCsv_Rfc4180QuotedDelimitersEscapedQuotesAndCrlf_IsAccepted()
    {
        HttpClient client = api.CreateClient();
        var csv = new StringBuilder("x,y,city\r\n");
        for (int i = 0; i < 20; i++)
        {
            csv.Append(CultureInfo.InvariantCulture, $"{i},{i % 3},{(i % 2 == 0 ? "\"New York, NY\"" : "\"Paris, \"\"FR\"\"\"")}\r\n");
        }
        var form = new MultipartFormDataContent
        {
            { new StringContent("rfc4180"), "name" },
            { new StringContent("city"), "labelColumn" },
            { new StringContent("csv"), "format" },
            { new ByteArrayContent(Encoding.UTF8.GetBytes(csv.ToString())), "data", "data.csv" },
        };

        using HttpResponseMessage response = await client.PostAsync("/api/v1/datasets", form);

        string body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode is HttpStatusCode.Created or HttpStatusCode.OK, body);
        JsonElement dataset = JsonDocument.Parse(body).RootElement;
        Assert.Equal(2, dataset.GetProperty("classes").GetInt32());
        Assert.Equal(20, dataset.GetProperty("samples").GetInt32());
        Assert.Equal([2], dataset.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()).ToArray());
    }

    [Fact]
    public async Task UploadCsv_LineOverMaxCsvLineLength_Is400NamingLineAndSetting()
    {
        HttpClient client = api.CreateClient();
        ApiFactory.StoredState before = await api.StoredStateAsync();
        string csv = "x,label\n1,a\n" + new string('9', (1 << 20) + 10) + ",b\n";
        var form = new MultipartFormDataContent
        {
            { new StringContent("long-line"), "name" },
            { new StringContent("csv"), "format" },
            { new ByteArrayContent(Encoding.UTF8.GetBytes(csv)), "data", "data.csv" },
        };

        using HttpResponseMessage response = await client.PostAsync("/api/v1/datasets", form);

        string message = await FieldErrorAsync(response, HttpStatusCode.BadRequest, "data");
        Assert.Contains("line 3", message);
        Assert.Contains("Datasets:Limits:MaxCsvLineLength", message);
        Assert.Equal(before, await api.StoredStateAsync());
    }

    [Fact]
    public async Task RateLimit_SecondSubmissionAndUploadInTheWindow_Are429WithRetryAfterAndGrpcResourceExhausted()
    {
        await using WebApplicationFactory<Program> limited = WithSettings(
            ("Api:RateLimit:SubmissionsPerWindow", "1"), ("Api:RateLimit:UploadsPerWindow", "1"), ("Api:RateLimit:Window", "01:00:00"));
        HttpClient client = CreateClient(limited);
        HttpContent Spec() => new StringContent("{}", Encoding.UTF8, "application/json");

        using HttpResponseMessage first = await client.PostAsync("/api/v1/jobs", Spec());
        using HttpResponseMessage second = await client.PostAsync("/api/v1/jobs", Spec());
        using HttpResponseMessage upload = await client.PostAsync("/api/v1/datasets", new MultipartFormDataContent { { new StringContent("x"), "name" } });
        using HttpResponseMessage secondUpload = await client.PostAsync("/api/v1/datasets", new MultipartFormDataContent { { new StringContent("x"), "name" } });

        Assert.Equal(HttpStatusCode.BadRequest, first.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, upload.StatusCode);
        await AssertProblemAsync(second, HttpStatusCode.TooManyRequests, "Api:RateLimit:SubmissionsPerWindow");
        await AssertProblemAsync(secondUpload, HttpStatusCode.TooManyRequests, "Api:RateLimit:UploadsPerWindow");
        Assert.True(second.Headers.RetryAfter?.Delta > TimeSpan.Zero, "Retry-After is missing");
        using GrpcChannel channel = GrpcChannel.ForAddress(limited.Server.BaseAddress, new GrpcChannelOptions { HttpHandler = new ApiKeyHandler(limited.Server.CreateHandler()) });
        var ex = await Assert.ThrowsAsync<RpcException>(() => new V1.JobService.JobServiceClient(channel).SubmitJobAsync(new V1.SubmitJobRequest { SpecJson = "{}" }).ResponseAsync);
        Assert.Equal(StatusCode.ResourceExhausted, ex.StatusCode);
        Assert.Contains("Api:RateLimit:SubmissionsPerWindow", ex.Status.Detail);
    }

    [Fact]
    public async Task WatchJob_MoreStreamsThanTheTenantCap_IsResourceExhaustedUntilOneCloses()
    {
        await using WebApplicationFactory<Program> limited = WithSettings(("Api:MaxWatchStreamsPerTenant", "1"));
        HttpClient client = CreateClient(limited);
        var form = new MultipartFormDataContent
        {
            { new StringContent("watch-cap"), "name" },
            { new ByteArrayContent(BadInputCorpus.Read("valid/images.idx")), "images", "images.idx" },
            { new ByteArrayContent(BadInputCorpus.Read("valid/labels.idx")), "labels", "labels.idx" },
        };
        using HttpResponseMessage uploaded = await client.PostAsync("/api/v1/datasets", form);
        Guid datasetId = JsonDocument.Parse(await uploaded.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetGuid();
        // No worker in this host: the job stays queued and its watch stream open.
        using HttpResponseMessage submitted = await client.PostAsync("/api/v1/jobs", new StringContent(
            DefaultSpec.Replace("00000000-0000-0000-0000-000000000001", datasetId.ToString(), StringComparison.Ordinal), Encoding.UTF8, "application/json"));
        string jobId = JsonDocument.Parse(await submitted.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString()!;
        using GrpcChannel channel = GrpcChannel.ForAddress(limited.Server.BaseAddress, new GrpcChannelOptions { HttpHandler = new ApiKeyHandler(limited.Server.CreateHandler()) });
        var jobs = new V1.JobService.JobServiceClient(channel);

        using (AsyncServerStreamingCall<V1.JobEvent> open = jobs.WatchJob(new V1.WatchJobRequest { JobId = jobId }))
        {
            Assert.True(await open.ResponseStream.MoveNext(CancellationToken.None));
            using AsyncServerStreamingCall<V1.JobEvent> refused = jobs.WatchJob(new V1.WatchJobRequest { JobId = jobId });
            var ex = await Assert.ThrowsAsync<RpcException>(() => refused.ResponseStream.MoveNext(CancellationToken.None));
            Assert.Equal(StatusCode.ResourceExhausted, ex.StatusCode);
            Assert.Contains("Api:MaxWatchStreamsPerTenant", ex.Status.Detail);
        }

        // The closed stream gave its slot back (the server notices the cancellation within a poll).
        await Task.Delay(TimeSpan.FromSeconds(1));
        using (AsyncServerStreamingCall<V1.JobEvent> again = jobs.WatchJob(new V1.WatchJobRequest { JobId = jobId }))
        {
            Assert.True(await again.ResponseStream.MoveNext(CancellationToken.None));
        }

        // The fixture's own worker shares a PostgreSQL queue and may take the job: leave it finished before the next test.
        await client.PostAsync($"/api/v1/jobs/{jobId}/cancel", null);
        for (int i = 0; i < 600; i++)
        {
            string status = (await client.GetFromJsonAsync<JsonElement>($"/api/v1/jobs/{jobId}")).GetProperty("status").GetString()!;
            if (status is "Cancelled" or "Succeeded" or "Failed")
            {
                break;
            }
            await Task.Delay(100);
        }
    }

    private sealed class ApiKeyHandler(HttpMessageHandler inner) : DelegatingHandler(inner)
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            request.Headers.TryAddWithoutValidation("X-Api-Key", ApiFactory.AdminKey);
            return base.SendAsync(request, cancellationToken);
        }
    }

    private WebApplicationFactory<Program> WithSettings(params (string Key, string Value)[] settings) => api.WithWebHostBuilder(builder =>
    {
        builder.UseSetting("Worker:InProcess", "false");
        foreach ((string key, string value) in settings)
        {
            builder.UseSetting(key, value);
        }
    });

    private HttpClient CreateClient(WebApplicationFactory<Program> factory)
    {
        HttpClient client = factory.CreateClient();
        client.DefaultRequestHeaders.Add("X-Api-Key", ApiFactory.AdminKey);
        return client;
    }

    private static async Task<string> FieldErrorAsync(HttpResponseMessage response, HttpStatusCode status, string field)
    {
        string body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"expected {status}, got {response.StatusCode}: {body}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        return string.Join(" ", JsonDocument.Parse(body).RootElement.GetProperty("errors").GetProperty(field).EnumerateArray().Select(e => e.GetString()));
    }

    private static async Task AssertProblemAsync(HttpResponseMessage response, HttpStatusCode status, string fragment)
    {
        string body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"expected {status}, got {response.StatusCode}: {body}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains(fragment, JsonDocument.Parse(body).RootElement.GetProperty("detail").GetString());
    }
}

/// <summary>A body of <paramref name="prefix"/> then <paramref name="fill"/> bytes up to <paramref name="length"/>, made as it is read (nothing held in memory).</summary>
internal sealed class GeneratedStream(byte[] prefix, byte fill, long length) : Stream
{
    private long _position;

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => Interlocked.Read(ref _position); set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        long position = Interlocked.Read(ref _position);
        int n = (int)Math.Min(buffer.Length, length - position);
        for (int i = 0; i < n; i++)
        {
            long at = position + i;
            buffer[i] = at < prefix.Length ? prefix[at] : fill;
        }
        Interlocked.Add(ref _position, n);
        return n;
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => new(Read(buffer.Span));

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        Task.FromResult(Read(buffer.AsSpan(offset, count)));

    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}

public sealed class SqliteRequestLimitsTests(SqliteApi api) : RequestLimitsTests<SqliteApi>(api), IClassFixture<SqliteApi>;

public sealed class PostgresRequestLimitsTests(PostgresApi api) : RequestLimitsTests<PostgresApi>(api), IClassFixture<PostgresApi>;

extern alias sdk;

using System.Globalization;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using sdk::TrainingService.Sdk;
using sdk::TrainingService.Sdk.V1;

namespace Api.IntegrationTests.Grpc;

/// <summary>
/// <c>training.v1.VariantService</c> and <c>DeviceService</c> against the real Api, worker and database over the
/// TestServer handler, compared with the REST endpoints they mirror.
/// </summary>
public abstract class VariantGrpcTests<TApi>(TApi api) : IDisposable where TApi : ApiFactory
{

    // One trained run per Api fixture: training dominates these tests' time, and every test only reads the run
    // (ProfileAsync writes to its own device profile).
    private static readonly ConditionalWeakTable<ApiFactory, Task<Guid>> s_trainedRuns = new();

    private readonly GrpcChannel _channel = GrpcChannel.ForAddress(api.Server.BaseAddress, new GrpcChannelOptions
    {
        HttpHandler = api.CreateGrpcHandler(),
    });

    private VariantService.VariantServiceClient Variants => new(_channel);

    private DeviceService.DeviceServiceClient Devices => new(_channel);

    public void Dispose()
    {
        _channel.Dispose();
        GC.SuppressFinalize(this);
    }

    [Fact]
    public async Task SelectVariant_ThreeBudgets_NonDecreasingAccuracyNeverOverBudgetAndSameAsRest()
    {
        Guid runId = await TrainedRunAsync();
        string device = await BuiltInDeviceAsync();
        HttpClient rest = api.CreateClient();

        ListVariantsResponse listed = await Variants.ListVariantsAsync(new ListVariantsRequest { RunId = runId.ToString(), Device = device });
        DeviceFrontier frontier = Assert.Single(listed.Devices);
        Assert.Equal(device, frontier.Device);
        Assert.Equal(1, frontier.Batch);
        Assert.True(frontier.Variants.Count >= 4);
        Assert.All(frontier.Variants, v => Assert.True(v.Latency.Measured && v.Latency.Source == "measured" && v.Latency.HasP90Ms && v.Latency.HasRuntime));
        Assert.NotEmpty(frontier.Frontier);
        JsonElement restList = await rest.GetFromJsonAsync<JsonElement>($"/api/v1/runs/{runId}/variants?device={device}");
        JsonElement restDevice = restList.GetProperty("devices")[0];
        Assert.Equal(restDevice.GetProperty("variants").EnumerateArray().Select(v => v.GetProperty("rankFraction").GetDouble()), frontier.Variants.Select(v => v.RankFraction));
        Assert.Equal(restDevice.GetProperty("frontier").EnumerateArray().Select(v => v.GetProperty("latency").GetProperty("ms").GetDouble()), frontier.Frontier.Select(v => v.Latency.Ms));
        Assert.Equal(restDevice.GetProperty("variants")[0].GetProperty("links").GetProperty("onnx").GetString(), frontier.Variants[0].OnnxLink);

        double[] latencies = frontier.Variants.Select(v => v.Latency.Ms).Order().ToArray();
        double[] budgets = [latencies[0], latencies[latencies.Length / 2], latencies[^1] * 2];
        var chosen = new List<Variant>();
        foreach (double budget in budgets)
        {
            VariantSelection selection = await Variants.SelectVariantAsync(new SelectVariantRequest { RunId = runId.ToString(), Device = device, LatencyBudgetMs = budget });
            Assert.Equal(budget, selection.LatencyBudgetMs);
            Assert.True(selection.Variant.Latency.Ms <= budget, $"{selection.Variant.Latency.Ms} ms is over the {budget} ms budget");
            JsonElement restSelection = await rest.GetFromJsonAsync<JsonElement>(
                $"/api/v1/runs/{runId}/variants/select?device={device}&latencyBudgetMs={budget.ToString("R", CultureInfo.InvariantCulture)}");
            Assert.Equal(restSelection.GetProperty("variant").GetProperty("rankFraction").GetDouble(), selection.Variant.RankFraction);
            chosen.Add(selection.Variant);
        }

        double[] accuracies = chosen.Select(v => v.Accuracy).ToArray();
        Assert.Equal(accuracies.Order().ToArray(), accuracies);
        Assert.Equal(frontier.Variants.Max(v => v.Accuracy), accuracies[^1]);
    }

    [Fact]
    public async Task SelectVariant_NoVariantFits_OutOfRangeWithFastestLatencyAsRest422()
    {
        Guid runId = await TrainedRunAsync();
        string device = await BuiltInDeviceAsync();
        using TrainingClient client = SdkClient();
        ListVariantsResponse listed = await client.Variants.ListAsync(runId, device);
        Variant fastest = listed.Devices[0].Variants.MinBy(v => v.Latency.Ms)!;
        double budget = fastest.Latency.Ms / 1000;

        RpcException error = await Assert.ThrowsAsync<RpcException>(() => client.Variants.SelectAsync(runId, device, budget));

        Assert.Equal(StatusCode.OutOfRange, error.StatusCode);
        Assert.Equal(fastest.Latency.Ms, error.FastestLatencyMs());
        // Measured latencies can tie; any variant at the fastest latency is the fastest.
        Assert.Contains(error.FastestRankFraction(), listed.Devices[0].Variants.Where(v => v.Latency.Ms == fastest.Latency.Ms).Select(v => (double?)v.RankFraction));
        Google.Rpc.ErrorInfo info = error.GetRpcStatus()!.GetDetail<Google.Rpc.ErrorInfo>()!;
        Assert.Equal("NO_VARIANT_FITS_BUDGET", info.Reason);
        Assert.Equal("true", info.Metadata["measured"]);
        using HttpResponseMessage problem = await api.CreateClient().GetAsync(
            $"/api/v1/runs/{runId}/variants/select?device={device}&latencyBudgetMs={budget.ToString("R", CultureInfo.InvariantCulture)}");
        Assert.Equal(HttpStatusCode.UnprocessableEntity, problem.StatusCode);
        Assert.Equal((await problem.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("fastestLatencyMs").GetDouble(), error.FastestLatencyMs());
    }

    [Fact]
    public async Task FetchVariant_SmallChunks_ReassembleToRestDownloadWithMatchingChecksum()
    {
        Guid runId = await TrainedRunAsync();
        Curve curve = await SdkClient().Runs.GetCurveAsync(runId);
        double fraction = curve.Points.Max(p => p.RankFraction);
        using HttpResponseMessage download = await api.CreateClient().GetAsync(
            $"/api/v1/runs/{runId}/variants/{fraction.ToString("R", CultureInfo.InvariantCulture)}/model?format=onnx");
        byte[] restBytes = await download.Content.ReadAsByteArrayAsync();

        List<VariantChunk> chunks = await ReadAllAsync(Variants.FetchVariant(
            new FetchVariantRequest { RunId = runId.ToString(), RankFraction = fraction, Format = VariantFormat.Onnx, ChunkSize = 1024 }));

        VariantChunk[] data = chunks.ToArray()[..^1];
        Assert.True(data.Length > 1, $"expected several 1 KiB chunks, got {data.Length}");
        Assert.All(data, c => Assert.Equal(VariantChunk.ContentOneofCase.Data, c.ContentCase));
        Assert.All(data[..^1], c => Assert.Equal(1024, c.Data.Length));
        byte[] bytes = data.SelectMany(c => c.Data.ToByteArray()).ToArray();
        VariantFileSummary summary = chunks[^1].Summary;
        Assert.Equal(restBytes, bytes);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(bytes)), summary.Sha256);
        Assert.Equal($"\"{summary.Sha256}\"", download.Headers.ETag?.Tag);
        Assert.Equal(bytes.Length, summary.SizeBytes);
        Assert.EndsWith(".onnx", summary.FileName);

        // The SDK: default 64 KiB chunks into a file, verified; TorchSharp weights too.
        using TrainingClient client = SdkClient();
        string path = Path.Combine(api.DataDirectory, $"fetched-{Guid.NewGuid():N}.onnx");
        VariantFileSummary fetched = await client.Variants.FetchAsync(runId, fraction, path);
        Assert.Equal(restBytes, await File.ReadAllBytesAsync(path));
        Assert.Equal(summary.Sha256, fetched.Sha256);
        Assert.False(File.Exists(path + ".part"));
        using var weights = new MemoryStream();
        VariantFileSummary torch = await client.Variants.FetchAsync(runId, fraction, weights, VariantFormat.Torchsharp);
        Assert.Equal(torch.SizeBytes, weights.Length);
        Assert.EndsWith(".bin", torch.FileName);
    }

    [Fact]
    public async Task FetchVariantAsync_CorruptedInTransit_ThrowsInvalidDataAndLeavesNoFile()
    {
        Guid runId = await TrainedRunAsync();
        using TrainingClient client = TrainingClient.Create(api.Server.BaseAddress, new TrainingClientOptions
        {
            HttpHandler = new CorruptingHandler(api.CreateGrpcHandler()),
        });
        Curve curve = await client.Runs.GetCurveAsync(runId);
        string path = Path.Combine(api.DataDirectory, $"corrupt-{Guid.NewGuid():N}.onnx");

        InvalidDataException error = await Assert.ThrowsAsync<InvalidDataException>(() => client.Variants.FetchAsync(runId, curve.Points[^1].RankFraction, path));

        Assert.Contains("corrupted", error.Message);
        Assert.False(File.Exists(path));
        Assert.False(File.Exists(path + ".part"));
    }

    [Fact]
    public async Task ProfileAsync_TrainedRun_PostsOneMeasurementPerPointAndBatchThenListReportsMeasured()
    {
        Guid runId = await TrainedRunAsync();
        using TrainingClient client = SdkClient();
        string name = $"sdk-{Guid.NewGuid():N}"[..20];
        Curve curve = await client.Runs.GetCurveAsync(runId);
        var options = new ProfileOptions { Batches = [1, 4], WarmupRuns = 1, Runs = 5, IntraOpThreads = 1 };

        LatencyTable table = await client.Profiler.ProfileAsync(runId, name, options);

        Assert.Equal(curve.Points.Count * 2, table.Timings.Count);
        Assert.Equal(curve.Points.Select(p => p.RankFraction).Order(), table.Timings.Where(t => t.Batch == 1).Select(t => t.RankFraction));
        Assert.All(table.Timings, t => Assert.True(t.MedianMs > 0 && t.P90Ms >= t.MedianMs && t.Runs == 5));
        Device device = await client.Devices.GetAsync(name);
        Assert.False(device.BuiltIn);
        Assert.Equal(table.Timings.Count, device.Measurements);
        Assert.True(device.HasCpuModel && device.HasThreads);
        Assert.Contains(await client.Devices.ListAsync(), d => d.Name == name);
        foreach (int batch in options.Batches)
        {
            DeviceFrontier priced = Assert.Single((await client.Variants.ListAsync(runId, name, batch)).Devices);
            Assert.Equal(curve.Points.Count, priced.Variants.Count);
            Assert.All(priced.Variants, v => Assert.True(v.Latency.Measured && v.Latency.Runtime == "onnxruntime-cpu" && v.Latency.Batch == batch));
            Assert.Equal(table.Timings.Where(t => t.Batch == batch).Select(t => t.MedianMs), priced.Variants.Select(v => v.Latency.Ms));
        }
        ListVariantsResponse everyDevice = await client.Variants.ListAsync(runId);
        Assert.Contains(everyDevice.Devices, d => d.Device == name);

        // Profiling again replaces the table (an upsert): no second set of rows.
        await client.Profiler.ProfileAsync(runId, name, new ProfileOptions { WarmupRuns = 0, Runs = 1 });
        Assert.Equal(table.Timings.Count, (await client.Devices.GetAsync(name)).Measurements);
    }

    [Fact]
    public async Task DeviceService_CreateGetAndPostLatencies_MirrorRest()
    {
        Guid runId = await TrainedRunAsync();
        string name = $"edge-{Guid.NewGuid():N}"[..20];
        Curve curve = await SdkClient().Runs.GetCurveAsync(runId);

        Device created = await Devices.CreateDeviceAsync(new CreateDeviceRequest { Name = name, Description = "an edge box", Cores = 4, CpuModel = "Cortex-A76" });
        RpcException duplicate = await Assert.ThrowsAsync<RpcException>(() => Devices.CreateDeviceAsync(new CreateDeviceRequest { Name = name }).ResponseAsync);
        var request = new PostLatenciesRequest { Device = name, RunId = runId.ToString(), Runtime = "onnxruntime-android", Threads = 2 };
        request.Measurements.Add(new LatencyMeasurement { RankFraction = curve.Points[0].RankFraction, Batch = 1, MedianMs = 1.5, P90Ms = 2 });
        request.Measurements.Add(new LatencyMeasurement { RankFraction = curve.Points[^1].RankFraction, Batch = 1, MedianMs = 4.5 });
        PostLatenciesResponse posted = await Devices.PostLatenciesAsync(request);
        Device fetched = await Devices.GetDeviceAsync(new GetDeviceRequest { Name = name });
        JsonElement rest = await api.CreateClient().GetFromJsonAsync<JsonElement>($"/api/v1/devices/{name}");

        Assert.Equal(name, created.Name);
        Assert.Equal("an edge box", created.Description);
        Assert.Equal(4, created.Cores);
        Assert.False(created.HasThreads);
        Assert.Equal(0, created.Measurements);
        Assert.Equal(StatusCode.AlreadyExists, duplicate.StatusCode);
        Assert.Equal(2, posted.Stored);
        Assert.Equal(2, fetched.Measurements);
        Assert.Equal(rest.GetProperty("measurements").GetInt32(), fetched.Measurements);
        Assert.Equal(rest.GetProperty("cpuModel").GetString(), fetched.CpuModel);
        DeviceFrontier priced = Assert.Single((await Variants.ListVariantsAsync(new ListVariantsRequest { RunId = runId.ToString(), Device = name })).Devices);
        Assert.Equal(1.5, priced.Variants[0].Latency.Ms);
        Assert.Equal(2, priced.Variants[0].Latency.P90Ms);
        Assert.Equal("onnxruntime-android", priced.Variants[0].Latency.Runtime);
        Assert.All(priced.Variants.Skip(1).SkipLast(1), v => Assert.Equal("estimated", v.Latency.Source));
    }

    [Fact]
    public async Task VariantAndDeviceRpcs_BadInput_MapToRestCodesWithFieldViolations()
    {
        Guid runId = await TrainedRunAsync();
        string device = await BuiltInDeviceAsync();
        string run = runId.ToString();
        string unmeasured = $"bare-{Guid.NewGuid():N}"[..20];
        await Devices.CreateDeviceAsync(new CreateDeviceRequest { Name = unmeasured });
        SelectVariantRequest Select(Action<SelectVariantRequest> change)
        {
            var request = new SelectVariantRequest { RunId = run, Device = device, LatencyBudgetMs = 5 };
            change(request);
            return request;
        }
        PostLatenciesRequest Post(string name, double fraction, double medianMs, bool withMeasurement = true)
        {
            var request = new PostLatenciesRequest { Device = name, RunId = run };
            if (withMeasurement)
            {
                request.Measurements.Add(new LatencyMeasurement { RankFraction = fraction, Batch = 1, MedianMs = medianMs });
            }
            return request;
        }

        await ExpectAsync(Variants.SelectVariantAsync(Select(r => r.Device = "no-such-device")).ResponseAsync, StatusCode.NotFound);
        await ExpectAsync(Variants.SelectVariantAsync(Select(r => r.Device = "Bad Name")).ResponseAsync, StatusCode.InvalidArgument, "device");
        await ExpectAsync(Variants.SelectVariantAsync(Select(r => r.LatencyBudgetMs = -1)).ResponseAsync, StatusCode.InvalidArgument, "latencyBudgetMs");
        await ExpectAsync(Variants.SelectVariantAsync(Select(r => r.LatencyBudgetMs = 0)).ResponseAsync, StatusCode.InvalidArgument, "latencyBudgetMs");
        await ExpectAsync(Variants.SelectVariantAsync(Select(r => r.LatencyBudgetMs = 99_999_999)).ResponseAsync, StatusCode.InvalidArgument, "latencyBudgetMs");
        await ExpectAsync(Variants.SelectVariantAsync(Select(r => r.ClearLatencyBudgetMs())).ResponseAsync, StatusCode.InvalidArgument, "latencyBudgetMs");
        await ExpectAsync(Variants.SelectVariantAsync(Select(r => r.Batch = -1)).ResponseAsync, StatusCode.InvalidArgument, "batch");
        await ExpectAsync(Variants.SelectVariantAsync(Select(r => r.RunId = "nope")).ResponseAsync, StatusCode.InvalidArgument, "runId");
        await ExpectAsync(Variants.SelectVariantAsync(Select(r => r.RunId = Guid.NewGuid().ToString())).ResponseAsync, StatusCode.NotFound);
        await ExpectAsync(Variants.ListVariantsAsync(new ListVariantsRequest { RunId = run, Device = unmeasured }).ResponseAsync, StatusCode.InvalidArgument, "device");
        await ExpectAsync(Variants.ListVariantsAsync(new ListVariantsRequest { RunId = run, Batch = 5000 }).ResponseAsync, StatusCode.InvalidArgument, "batch");
        await ExpectAsync(ReadAllAsync(Variants.FetchVariant(new FetchVariantRequest { RunId = run, RankFraction = 0.3 })), StatusCode.NotFound);
        await ExpectAsync(ReadAllAsync(Variants.FetchVariant(new FetchVariantRequest { RunId = run, RankFraction = 1, Format = (VariantFormat)7 })), StatusCode.InvalidArgument, "format");
        await ExpectAsync(ReadAllAsync(Variants.FetchVariant(new FetchVariantRequest { RunId = run, RankFraction = 1, ChunkSize = 10 })), StatusCode.InvalidArgument, "chunkSize");
        await ExpectAsync(Devices.PostLatenciesAsync(Post(unmeasured, 0.3, 1)).ResponseAsync, StatusCode.InvalidArgument, "measurements[0].rankFraction");
        await ExpectAsync(Devices.PostLatenciesAsync(Post(device, 1, 1)).ResponseAsync, StatusCode.FailedPrecondition);
        await ExpectAsync(Devices.PostLatenciesAsync(Post(device, 1, -2)).ResponseAsync, StatusCode.InvalidArgument, "measurements[0].medianMs");
        await ExpectAsync(Devices.PostLatenciesAsync(Post(device, 1, 1, withMeasurement: false)).ResponseAsync, StatusCode.InvalidArgument, "measurements");
        await ExpectAsync(Devices.PostLatenciesAsync(Post("no-such-device", 1, 2)).ResponseAsync, StatusCode.NotFound);
        await ExpectAsync(Devices.PostLatenciesAsync(new PostLatenciesRequest { Device = device }).ResponseAsync, StatusCode.InvalidArgument, "runId");
        await ExpectAsync(Devices.CreateDeviceAsync(new CreateDeviceRequest { Name = "../etc" }).ResponseAsync, StatusCode.InvalidArgument, "name");
        await ExpectAsync(Devices.CreateDeviceAsync(new CreateDeviceRequest { Name = "ok-name", Cores = 0 }).ResponseAsync, StatusCode.InvalidArgument, "cores");
        await ExpectAsync(Devices.GetDeviceAsync(new GetDeviceRequest { Name = "no-such-device" }).ResponseAsync, StatusCode.NotFound);

        // A run that has not finished has no variants yet: REST's 409, FAILED_PRECONDITION here.
        HttpClient client = api.CreateClient();
        Guid datasetId = await ApiClient.UploadDatasetAsync(client);
        using HttpResponseMessage submitted = await client.PostAsJsonAsync("/api/v1/jobs", ApiClient.JobSpec(datasetId, epochs: 300));
        Guid jobId = (await submitted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        JsonElement running = await ApiClient.WaitForJobAsync(client, jobId, j => j.GetProperty("runIds").GetArrayLength() > 0, TimeSpan.FromMinutes(1));
        string unfinished = running.GetProperty("runIds")[0].GetGuid().ToString();
        await ExpectAsync(Variants.SelectVariantAsync(Select(r => r.RunId = unfinished)).ResponseAsync, StatusCode.FailedPrecondition);
        await ExpectAsync(Variants.ListVariantsAsync(new ListVariantsRequest { RunId = unfinished }).ResponseAsync, StatusCode.FailedPrecondition);
        await ExpectAsync(ReadAllAsync(Variants.FetchVariant(new FetchVariantRequest { RunId = unfinished, RankFraction = 1 })), StatusCode.FailedPrecondition);
        var early = new PostLatenciesRequest { Device = device, RunId = unfinished };
        early.Measurements.Add(new LatencyMeasurement { RankFraction = 1, Batch = 1, MedianMs = 1 });
        await ExpectAsync(Devices.PostLatenciesAsync(early).ResponseAsync, StatusCode.FailedPrecondition);
        await client.PostAsync($"/api/v1/jobs/{jobId}/cancel", null);
        await ApiClient.WaitForJobAsync(client, jobId, j => j.Status() == "Cancelled", TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task ServiceClients_OneTrainingClient_ReadJobRunVariantsAndDevicesAndMapErrors()
    {
        Guid runId = await TrainedRunAsync();
        using TrainingClient client = SdkClient();

        Run run = await client.Runs.GetAsync(runId);
        Job job = await client.Jobs.GetAsync(Guid.Parse(run.JobId));
        Dataset dataset = await client.Datasets.GetAsync(Guid.Parse(job.DatasetId));
        ListJobsResponse jobs = await client.Jobs.ListAsync(datasetId: Guid.Parse(dataset.Id));
        ListRunsResponse runs = await client.Runs.ListAsync(jobId: Guid.Parse(job.Id));
        Curve curve = await client.Runs.GetCurveAsync(runId);
        string device = (await client.Devices.ListAsync()).First(d => d.BuiltIn).Name;
        DeviceFrontier frontier = Assert.Single((await client.Variants.ListAsync(runId, device)).Devices);
        VariantSelection selection = await client.Variants.SelectAsync(runId, device, frontier.Variants.Max(v => v.Latency.Ms) * 2);
        using var model = new MemoryStream();
        VariantFileSummary fetched = await client.Variants.FetchAsync(runId, selection.Variant.RankFraction, model);

        Assert.Equal((RunStatus.Succeeded, JobStatus.Succeeded), (run.Status, job.Status));
        Assert.Contains(run.Id, job.RunIds);
        Assert.Equal(job.Id, Assert.Single(jobs.Items).Id);
        Assert.Equal(run.Id, Assert.Single(runs.Items).Id);
        Assert.Equal(curve.Points.Count, frontier.Variants.Count);
        Assert.Equal(frontier.Variants.Max(v => v.Accuracy), selection.Variant.Accuracy);
        Assert.Equal(model.Length, fetched.SizeBytes);
        Assert.EndsWith(".onnx", fetched.FileName);

        // The same error types as before the split: status codes with the service's details.
        RpcException missing = await Assert.ThrowsAsync<RpcException>(() => client.Runs.GetAsync(Guid.NewGuid()));
        Assert.Equal(StatusCode.NotFound, missing.StatusCode);
        RpcException finished = await Assert.ThrowsAsync<RpcException>(() => client.Jobs.CancelAsync(Guid.Parse(job.Id)));
        Assert.Equal(StatusCode.FailedPrecondition, finished.StatusCode);
        RpcException tooTight = await Assert.ThrowsAsync<RpcException>(
            () => client.Variants.SelectAsync(runId, device, frontier.Variants.Min(v => v.Latency.Ms) / 1000));
        Assert.Equal(StatusCode.OutOfRange, tooTight.StatusCode);
        Assert.Equal(frontier.Variants.Min(v => v.Latency.Ms), tooTight.FastestLatencyMs());
        RpcException badSpec = await Assert.ThrowsAsync<RpcException>(() => client.Jobs.SubmitAsync(
            JsonSerializer.Serialize(ApiClient.JobSpec(Guid.Parse(dataset.Id), epochs: 0))));
        Assert.Equal("training.epochs", Assert.Single(badSpec.FieldViolations()).Field);
    }

    [Fact]
    public async Task TrainingClient1xMembers_DelegateToServiceClients_SameAnswersAndErrors()
    {
        Guid runId = await TrainedRunAsync();
        using TrainingClient client = SdkClient();
        string device = (await client.Devices.ListAsync()).First(d => d.BuiltIn).Name;
        Run run = await client.Runs.GetAsync(runId);
        Guid jobId = Guid.Parse(run.JobId);

#pragma warning disable CS0618 // the obsolete 1.x calls are what this test covers
        Assert.Equal(run, await client.GetRunAsync(runId));
        Assert.Equal(await client.Runs.GetCurveAsync(runId), await client.GetCurveAsync(runId));
        Assert.Equal(await client.Jobs.GetAsync(jobId), await client.GetJobAsync(jobId));
        Assert.Equal(run.Id, Assert.Single((await client.ListRunsAsync(jobId, RunStatus.Unspecified, 0, 50, CancellationToken.None)).Items).Id);
        Assert.Equal(
            (await client.Devices.ListAsync()).Select(d => d.Name),
            (await client.ListDevicesAsync()).Select(d => d.Name));
        Assert.Equal(
            (await client.Variants.ListAsync(runId, device)).Devices[0].Variants.Select(v => v.RankFraction),
            (await client.ListVariantsAsync(runId, device)).Devices[0].Variants.Select(v => v.RankFraction));
        double budget = (await client.Variants.ListAsync(runId, device)).Devices[0].Variants.Max(v => v.Latency.Ms) * 2;
        Assert.Equal(
            (await client.Variants.SelectAsync(runId, device, budget)).Variant.RankFraction,
            (await client.SelectVariantAsync(runId, device, budget)).Variant.RankFraction);
        RpcException finished = await Assert.ThrowsAsync<RpcException>(() => client.CancelJobAsync(jobId));
        RpcException missing = await Assert.ThrowsAsync<RpcException>(() => client.GetDeviceAsync("no-such-device"));
#pragma warning restore CS0618

        Assert.Equal(StatusCode.FailedPrecondition, finished.StatusCode);
        Assert.Equal(StatusCode.NotFound, missing.StatusCode);
    }

    private TrainingClient SdkClient() =>
        TrainingClient.Create(api.Server.BaseAddress, new TrainingClientOptions { HttpHandler = api.CreateGrpcHandler() });

    private async Task<string> BuiltInDeviceAsync() =>
        (await Devices.ListDevicesAsync(new ListDevicesRequest())).Items.First(d => d.BuiltIn).Name;

    private Task<Guid> TrainedRunAsync() => s_trainedRuns.GetValue(api, async a => (await ApiClient.TrainRunWithTestSplitAsync(a.CreateClient(), "grpc-variants")).RunId);

    private static async Task<List<VariantChunk>> ReadAllAsync(AsyncServerStreamingCall<VariantChunk> call)
    {
        using (call)
        {
            var chunks = new List<VariantChunk>();
            await foreach (VariantChunk chunk in call.ResponseStream.ReadAllAsync())
            {
                chunks.Add(chunk);
            }
            return chunks;
        }
    }

    private static async Task ExpectAsync(Task call, StatusCode status, string? field = null)
    {
        RpcException error = await Assert.ThrowsAsync<RpcException>(() => call);
        Assert.True(error.StatusCode == status, $"expected {status}, got {error.StatusCode}: {error.Status.Detail}");
        if (field is not null)
        {
            string[] fields = error.FieldViolations().Select(v => v.Field).ToArray();
            Assert.True(fields.Contains(field), $"expected a violation of '{field}', got [{string.Join(", ", fields)}]: {error.Status.Detail}");
        }
    }

    /// <summary>Flips one byte inside the first FetchVariant data chunk, as a faulty link or proxy might.</summary>
    private sealed class CorruptingHandler(HttpMessageHandler inner) : DelegatingHandler(inner)
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            HttpResponseMessage response = await base.SendAsync(request, cancellationToken);
            if (request.RequestUri!.AbsolutePath.EndsWith("/FetchVariant", StringComparison.Ordinal))
            {
                // 5-byte gRPC prefix, then the chunk's tag and length (at most 4 bytes): offset 100 is file data.
                byte[] body = await response.Content.ReadAsByteArrayAsync(cancellationToken);
                body[100] ^= 0xFF;
                var content = new ByteArrayContent(body);
                foreach (var header in response.Content.Headers)
                {
                    content.Headers.TryAddWithoutValidation(header.Key, header.Value);
                }
                response.Content = content;
            }
            return response;
        }
    }
}

public sealed class SqliteVariantGrpcTests(SqliteApi api) : VariantGrpcTests<SqliteApi>(api), IClassFixture<SqliteApi>;

public sealed class PostgresVariantGrpcTests(PostgresApi api) : VariantGrpcTests<PostgresApi>(api), IClassFixture<PostgresApi>;

extern alias sdk;

using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Grpc.Reflection.V1Alpha;
using sdk::TrainingService.Sdk;
using sdk::TrainingService.Sdk.V1;
using JobSpec = Domain.Jobs.JobSpec;

namespace Api.IntegrationTests.Grpc;

/// <summary>Every <c>training.v1</c> method against the real Api, Hangfire server and worker, over the TestServer handler.</summary>
public abstract class GrpcTests<TApi>(TApi api) : IDisposable where TApi : ApiFactory
{
    private static readonly TimeSpan s_trainingTimeout = TimeSpan.FromMinutes(3);

    private readonly GrpcChannel _channel = GrpcChannel.ForAddress(api.Server.BaseAddress, new GrpcChannelOptions
    {
        HttpHandler = api.CreateGrpcHandler(),
    });

    private DatasetService.DatasetServiceClient Datasets => new(_channel);

    private JobService.JobServiceClient Jobs => new(_channel);

    private RunService.RunServiceClient Runs => new(_channel);

    public void Dispose()
    {
        _channel.Dispose();
        GC.SuppressFinalize(this);
    }

    [Fact]
    public async Task UploadDataset_InterleavedChunks_StoresDatasetAndGetAndListReturnIt()
    {
        (byte[] images, byte[] labels) = new IdxBuilder { Samples = 120 }.Build();

        Dataset dataset = await UploadAsync("chunked", [(DatasetFile.Images, IdxBuilder.Gzip(images)), (DatasetFile.Labels, labels)], chunkSize: 100);
        Dataset fetched = await Datasets.GetDatasetAsync(new GetDatasetRequest { Id = dataset.Id });
        ListDatasetsResponse page = await Datasets.ListDatasetsAsync(new ListDatasetsRequest { Limit = 1 });

        Assert.Equal("chunked", dataset.Name);
        Assert.Equal("idx", dataset.Format);
        Assert.Equal(120, dataset.Samples);
        Assert.Equal(4, dataset.Classes);
        Assert.Equal([8, 8], dataset.Shape);
        Assert.Equal(images.Length + labels.Length, dataset.SizeBytes);
        AssertSameDataset(dataset, fetched);
        Assert.Equal(dataset.Id, Assert.Single(page.Items).Id);
        Assert.Equal(1, page.Limit);
        Assert.True(page.Total >= 1);
        Assert.Equal(dataset.Id, (await api.WithDbAsync(db => db.Datasets.SingleAsync(d => d.Id == Guid.Parse(dataset.Id)))).Id.ToString());
    }

    public static TheoryData<string, string> BadUploads() => new()
    {
        { "missing-labels", "labels" },
        { "missing-metadata", "metadata" },
        { "empty-name", "name" },
        { "unknown-file", "chunk.file" },
        { "count-mismatch", "labels" },
        { "bad-gzip", "images" },
        { "test-without-labels", "testLabels" },
    };

    [Theory]
    [MemberData(nameof(BadUploads))]
    public async Task UploadDataset_BadInput_ReturnsInvalidArgumentNamingFieldAndLeavesNothing(string kind, string field)
    {
        (byte[] images, byte[] labels) = new IdxBuilder { Samples = 40 }.Build();
        ApiFactory.StoredState before = await api.StoredStateAsync();

        Task<Dataset> upload = kind switch
        {
            "missing-labels" => UploadAsync("bad", [(DatasetFile.Images, images)]),
            "missing-metadata" => UploadAsync(null, [(DatasetFile.Images, images), (DatasetFile.Labels, labels)]),
            "empty-name" => UploadAsync(" ", [(DatasetFile.Images, images), (DatasetFile.Labels, labels)]),
            "unknown-file" => UploadAsync("bad", [(DatasetFile.Unspecified, images)]),
            "count-mismatch" => UploadAsync("bad", [(DatasetFile.Images, images), (DatasetFile.Labels, IdxBuilder.Encode(new byte[39], 39))]),
            "bad-gzip" => UploadAsync("bad", [(DatasetFile.Images, [0x1f, 0x8b, 0x08, 0, 1, 2, 3]), (DatasetFile.Labels, labels)]),
            "test-without-labels" => UploadAsync("bad", [(DatasetFile.Images, images), (DatasetFile.Labels, labels), (DatasetFile.TestImages, images)]),
            _ => throw new ArgumentOutOfRangeException(nameof(kind)),
        };
        RpcException error = await Assert.ThrowsAsync<RpcException>(() => upload);

        AssertFieldViolation(error, field);
        Assert.Equal(before, await api.StoredStateAsync());
    }

    [Fact]
    public async Task WatchJob_ReconnectAfterFirstEpoch_ResumesWithoutDuplicatesAndCompletesOnSucceeded()
    {
        Dataset dataset = await UploadTinyAsync();
        SubmitJobResponse submitted = await Jobs.SubmitJobAsync(new SubmitJobRequest { SpecJson = SpecJson(dataset.Id, epochs: 4) });
        string jobId = submitted.Job.Id;

        // First connection: read until epoch 1, then drop it.
        var first = new List<JobEvent>();
        using (var cts = new CancellationTokenSource(s_trainingTimeout))
        using (AsyncServerStreamingCall<JobEvent> call = Jobs.WatchJob(new WatchJobRequest { JobId = jobId }, cancellationToken: cts.Token))
        {
            while (await call.ResponseStream.MoveNext(cts.Token))
            {
                first.Add(call.ResponseStream.Current);
                if (call.ResponseStream.Current.EventCase == JobEvent.EventOneofCase.EpochCompleted)
                {
                    break;
                }
            }
        }
        Assert.Equal(JobEvent.EventOneofCase.StatusChanged, first[0].EventCase);
        int seenEpoch = first.Last().EpochCompleted.Metrics.Epoch;
        Assert.Equal(1, seenEpoch);
        JobStatus seenStatus = first.Last(e => e.EventCase == JobEvent.EventOneofCase.StatusChanged).StatusChanged.Status;

        // Reconnect with what was seen: only the rest, then the stream completes on Succeeded.
        List<JobEvent> rest = await ReadAllAsync(Jobs.WatchJob(new WatchJobRequest { JobId = jobId, AfterEpoch = seenEpoch, KnownStatus = seenStatus }));

        int[] epochs = rest.Where(e => e.EventCase == JobEvent.EventOneofCase.EpochCompleted).Select(e => e.EpochCompleted.Metrics.Epoch).ToArray();
        Assert.Equal([2, 3, 4], epochs);
        Assert.Equal(JobEvent.EventOneofCase.StatusChanged, rest[^1].EventCase);
        Assert.Equal(JobStatus.Succeeded, rest[^1].StatusChanged.Status);
        Assert.DoesNotContain(rest, e => e.EventCase == JobEvent.EventOneofCase.StatusChanged && e.StatusChanged.Status == seenStatus);
        Assert.All(rest.Where(e => e.EventCase == JobEvent.EventOneofCase.EpochCompleted), e =>
        {
            Assert.Equal(4, e.EpochCompleted.Epochs);
            Assert.True(double.IsFinite(e.EpochCompleted.Metrics.TrainLoss));
            Assert.InRange(e.EpochCompleted.Metrics.TestAccuracy, 0, 1);
        });

        // A finished job replays only what is asked for.
        List<JobEvent> replay = await ReadAllAsync(Jobs.WatchJob(new WatchJobRequest { JobId = jobId, AfterEpoch = 3 }));
        Assert.Equal([4], replay.Where(e => e.EventCase == JobEvent.EventOneofCase.EpochCompleted).Select(e => e.EpochCompleted.Metrics.Epoch));
        Assert.Equal(JobStatus.Succeeded, Assert.Single(replay, e => e.EventCase == JobEvent.EventOneofCase.StatusChanged).StatusChanged.Status);
    }

    [Fact]
    public async Task JobsAndRuns_FinishedJob_GetListRunAndCurveMatchRest()
    {
        Dataset dataset = await UploadTinyAsync();
        Job job = (await Jobs.SubmitJobAsync(new SubmitJobRequest { SpecJson = SpecJson(dataset.Id, epochs: 2) })).Job;
        Assert.Contains(job.Status, new[] { JobStatus.Queued, JobStatus.Running });
        await ReadAllAsync(Jobs.WatchJob(new WatchJobRequest { JobId = job.Id }));

        Job finished = await Jobs.GetJobAsync(new GetJobRequest { Id = job.Id });
        ListJobsResponse byStatus = await Jobs.ListJobsAsync(new ListJobsRequest { Status = JobStatus.Succeeded, DatasetId = dataset.Id });
        ListJobsResponse queued = await Jobs.ListJobsAsync(new ListJobsRequest { Status = JobStatus.Queued, DatasetId = dataset.Id });
        string runId = Assert.Single(finished.RunIds);
        Run run = await Runs.GetRunAsync(new GetRunRequest { Id = runId });
        ListRunsResponse runs = await Runs.ListRunsAsync(new ListRunsRequest { JobId = job.Id });
        Curve curve = await Runs.GetCurveAsync(new GetCurveRequest { RunId = runId });
        JsonElement rest = await api.CreateClient().GetFromJsonAsync<JsonElement>($"/api/v1/runs/{runId}/curve");

        Assert.Equal(JobStatus.Succeeded, finished.Status);
        Assert.Equal((2, 2), (finished.Epoch, finished.Epochs));
        Assert.Equal(2, finished.LatestMetrics.Epoch);
        Assert.NotNull(finished.FinishedAt);
        Assert.Equal(2, JsonDocument.Parse(finished.SpecJson).RootElement.GetProperty("training").GetProperty("epochs").GetInt32());
        Assert.Equal(job.Id, Assert.Single(byStatus.Items).Id);
        Assert.Empty(queued.Items);
        Assert.Equal(RunStatus.Succeeded, run.Status);
        Assert.Equal([1, 2], run.Metrics.Select(m => m.Epoch));
        Assert.Equal(runId, Assert.Single(runs.Items).Id);
        Assert.Equal(RunStatus.Succeeded, curve.Status);
        Assert.Equal(rest.GetProperty("points").GetArrayLength(), curve.Points.Count);
        Assert.Equal(curve.Points.Select(p => p.RankFraction).Order(), curve.Points.Select(p => p.RankFraction));
        Assert.Equal(1.0, curve.Points[^1].RankFraction, 6);
        Assert.All(curve.Points, p => Assert.InRange(p.Accuracy, 0, 1));
    }

    public static TheoryData<string, string, string> BadJobs() => new()
    {
        { """{"datasetId":"$DATASET","model":{"kind":"mlp","hidden":[8]},"training":{"epochs":-1}}""", "", "training.epochs" },
        { """{"datasetId":"00000000-0000-0000-0000-000000000001","model":{"kind":"mlp","hidden":[8]}}""", "", "datasetId" },
        { """{"datasetId":"$DATASET","coTeaching":{}}""", "", "coTeaching.forgetRate" },
        { """{"datasetId":"$DATASET","multiSampleDropout":{"samples":0}}""", "", "multiSampleDropout.samples" },
        { """{"datasetId":"$DATASET","elr":{"lambda":0}}""", "", "elr.lambda" },
        { """{"datasetId":"$DATASET","training":{"epochs":3},"subset":{"partitions":0}}""", "", "subset.partitions" },
        { "not json", "", "specJson" },
        { """{"datasetId":"$DATASET"}""", new string('k', 201), "idempotencyKey" },
    };

    [Theory]
    [MemberData(nameof(BadJobs))]
    public async Task SubmitJob_BadSpec_ReturnsInvalidArgumentNamingFieldAndCreatesNoJob(string spec, string key, string field)
    {
        Guid datasetId = await api.WithDbAsync(db => db.Datasets.Select(d => d.Id).FirstOrDefaultAsync());
        string dataset = datasetId == Guid.Empty ? (await UploadTinyAsync()).Id : datasetId.ToString();
        int jobsBefore = await api.WithDbAsync(db => db.Jobs.CountAsync());

        RpcException error = await Assert.ThrowsAsync<RpcException>(() =>
            Jobs.SubmitJobAsync(new SubmitJobRequest { SpecJson = spec.Replace("$DATASET", dataset), IdempotencyKey = key }).ResponseAsync);

        AssertFieldViolation(error, field);
        Assert.Equal(jobsBefore, await api.WithDbAsync(db => db.Jobs.CountAsync()));
    }

    [Fact]
    public async Task SubmitJob_RepeatedIdempotencyKey_ReturnsFirstJobAndRefusesOtherSpecAsAlreadyExists()
    {
        Dataset dataset = await UploadTinyAsync();
        string key = Guid.NewGuid().ToString();

        SubmitJobResponse first = await Jobs.SubmitJobAsync(new SubmitJobRequest { SpecJson = SpecJson(dataset.Id, epochs: 1), IdempotencyKey = key });
        SubmitJobResponse again = await Jobs.SubmitJobAsync(new SubmitJobRequest { SpecJson = SpecJson(dataset.Id, epochs: 1), IdempotencyKey = key });
        RpcException other = await Assert.ThrowsAsync<RpcException>(() =>
            Jobs.SubmitJobAsync(new SubmitJobRequest { SpecJson = SpecJson(dataset.Id, epochs: 2), IdempotencyKey = key }).ResponseAsync);

        Assert.True(first.Created);
        Assert.False(again.Created);
        Assert.Equal(first.Job.Id, again.Job.Id);
        Assert.Equal(StatusCode.AlreadyExists, other.StatusCode);
        Assert.Equal(1, await api.WithDbAsync(db => db.Jobs.CountAsync(j => j.IdempotencyKey == key)));
        await ReadAllAsync(Jobs.WatchJob(new WatchJobRequest { JobId = first.Job.Id }));
    }

    [Fact]
    public async Task CancelJob_WhileRunning_WatchEndsCancelledAndSecondCancelFailsPrecondition()
    {
        Dataset dataset = await UploadTinyAsync(new IdxBuilder { Samples = 2000 });
        string spec = JsonSerializer.Serialize(ApiClient.JobSpec(Guid.Parse(dataset.Id), epochs: 500, hidden: [256, 256], maxRank: 64, batchSize: 16));
        Job job = (await Jobs.SubmitJobAsync(new SubmitJobRequest { SpecJson = spec })).Job;

        using var cts = new CancellationTokenSource(s_trainingTimeout);
        using AsyncServerStreamingCall<JobEvent> watch = Jobs.WatchJob(new WatchJobRequest { JobId = job.Id }, cancellationToken: cts.Token);
        var events = new List<JobEvent>();
        while (await watch.ResponseStream.MoveNext(cts.Token))
        {
            events.Add(watch.ResponseStream.Current);
            if (watch.ResponseStream.Current.EventCase == JobEvent.EventOneofCase.EpochCompleted && events.Count(e => e.EpochCompleted is not null) == 1)
            {
                Job cancelling = await Jobs.CancelJobAsync(new CancelJobRequest { Id = job.Id });
                Assert.True(cancelling.CancelRequested);
            }
        }
        RpcException again = await Assert.ThrowsAsync<RpcException>(() => Jobs.CancelJobAsync(new CancelJobRequest { Id = job.Id }).ResponseAsync);

        Assert.Equal(JobStatus.Cancelled, events[^1].StatusChanged.Status);
        Assert.True(events[^1].StatusChanged.Epoch < 500);
        Assert.Equal(StatusCode.FailedPrecondition, again.StatusCode);
    }

    [Fact]
    public async Task Get_UnknownOrMalformedId_ReturnsNotFoundOrInvalidArgument()
    {
        string unknown = "0197a0c0-0000-7000-8000-000000000000";
        Func<Task>[] notFound =
        [
            () => Datasets.GetDatasetAsync(new GetDatasetRequest { Id = unknown }).ResponseAsync,
            () => Jobs.GetJobAsync(new GetJobRequest { Id = unknown }).ResponseAsync,
            () => Jobs.CancelJobAsync(new CancelJobRequest { Id = unknown }).ResponseAsync,
            () => ReadAllAsync(Jobs.WatchJob(new WatchJobRequest { JobId = unknown })),
            () => Runs.GetRunAsync(new GetRunRequest { Id = unknown }).ResponseAsync,
            () => Runs.GetCurveAsync(new GetCurveRequest { RunId = unknown }).ResponseAsync,
        ];
        foreach (Func<Task> call in notFound)
        {
            Assert.Equal(StatusCode.NotFound, (await Assert.ThrowsAsync<RpcException>(call)).StatusCode);
        }

        AssertFieldViolation(await Assert.ThrowsAsync<RpcException>(() => Jobs.GetJobAsync(new GetJobRequest { Id = "42" }).ResponseAsync), "id");
        AssertFieldViolation(await Assert.ThrowsAsync<RpcException>(() => Runs.GetCurveAsync(new GetCurveRequest()).ResponseAsync), "runId");
        AssertFieldViolation(await Assert.ThrowsAsync<RpcException>(() => Jobs.ListJobsAsync(new ListJobsRequest { Limit = 501 }).ResponseAsync), "limit");
        AssertFieldViolation(await Assert.ThrowsAsync<RpcException>(() => Runs.ListRunsAsync(new ListRunsRequest { JobId = "x" }).ResponseAsync), "jobId");
    }

    [Fact]
    public async Task ServerReflection_ListServices_IncludesTrainingServices()
    {
        var reflection = new ServerReflection.ServerReflectionClient(_channel);
        using AsyncDuplexStreamingCall<ServerReflectionRequest, ServerReflectionResponse> call = reflection.ServerReflectionInfo();

        await call.RequestStream.WriteAsync(new ServerReflectionRequest { ListServices = "" });
        await call.RequestStream.CompleteAsync();
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));

        string[] services = call.ResponseStream.Current.ListServicesResponse.Service.Select(s => s.Name).ToArray();
        Assert.Contains("training.v1.DatasetService", services);
        Assert.Contains("training.v1.JobService", services);
        Assert.Contains("training.v1.RunService", services);
    }

    [Fact]
    public async Task SdkClient_UploadSubmitWatchAndCurve_EndToEnd()
    {
        using TrainingClient client = TrainingClient.Create(api.Server.BaseAddress, new TrainingClientOptions { HttpHandler = api.CreateGrpcHandler(), UploadChunkSize = 4096 });
        (byte[] images, byte[] labels) = new IdxBuilder { Seed = ApiClient.UniqueSeed() }.Build();
        var reports = new List<UploadProgress>();
        using var files = new DatasetFiles(new MemoryStream(IdxBuilder.Gzip(images)), new MemoryStream(labels));
        long total = files.TotalBytes!.Value;

        Dataset dataset = await client.Datasets.UploadIdxAsync("sdk", files, new SynchronousProgress<UploadProgress>(reports.Add));
        var spec = new JobSpec
        {
            DatasetId = Guid.Parse(dataset.Id),
            Model = new Domain.Jobs.ModelSpec { Hidden = [32], MaxRank = 16 },
            Training = new Domain.Jobs.TrainingSpec { Epochs = 3, BatchSize = 32, LearningRate = 0.01 },
        };
        SubmitJobResponse submitted = await client.Jobs.SubmitAsync(spec);
        var events = new List<JobEvent>();
        await foreach (JobEvent e in client.Jobs.WatchAsync(Guid.Parse(submitted.Job.Id)).WithCancellation(new CancellationTokenSource(s_trainingTimeout).Token))
        {
            events.Add(e);
        }
        Job job = await client.Jobs.GetAsync(Guid.Parse(submitted.Job.Id));
        Run run = await client.Runs.GetAsync(Guid.Parse(job.RunIds[0]));
        Curve curve = await client.Runs.GetCurveAsync(Guid.Parse(run.Id));
        ListJobsResponse jobs = await client.Jobs.ListAsync(datasetId: Guid.Parse(dataset.Id));
        ListDatasetsResponse datasets = await client.Datasets.ListAsync();
        ListRunsResponse runs = await client.Runs.ListAsync(Guid.Parse(job.Id));

        Assert.Equal(total, reports[^1].SentBytes);
        Assert.True(reports.Count > 2);
        AssertSameDataset(dataset, await client.Datasets.GetAsync(Guid.Parse(dataset.Id)));
        Assert.True(submitted.Created);
        Assert.Equal([1, 2, 3], events.Where(e => e.EpochCompleted is not null).Select(e => e.EpochCompleted.Metrics.Epoch));
        Assert.Equal(JobStatus.Succeeded, events[^1].StatusChanged.Status);
        Assert.Equal(JobStatus.Succeeded, job.Status);
        Assert.Equal(3, run.Metrics.Count);
        Assert.True(curve.Points.Count >= 4);
        Assert.True(curve.Points[^1].Accuracy > 0.6, curve.ToString());
        Assert.Equal(job.Id, Assert.Single(jobs.Items).Id);
        Assert.Contains(datasets.Items, d => d.Id == dataset.Id);
        Assert.Equal(run.Id, Assert.Single(runs.Items).Id);

        RpcException bad = await Assert.ThrowsAsync<RpcException>(() => client.Jobs.SubmitAsync(spec with { Training = spec.Training with { Epochs = 0 } }));
        Assert.Equal("training.epochs", Assert.Single(bad.FieldViolations()).Field);
    }

    [Fact]
    public async Task SdkClient_WatchStreamDropsMidway_ReconnectsAndYieldsEveryEpochOnce()
    {
        var handler = new DroppingHandler(api.CreateGrpcHandler());
        using TrainingClient client = TrainingClient.Create(api.Server.BaseAddress, new TrainingClientOptions
        {
            HttpHandler = handler,
            InitialBackoff = TimeSpan.FromMilliseconds(50),
        });
        Dataset dataset = await UploadTinyAsync();
        SubmitJobResponse submitted = await client.Jobs.SubmitAsync(SpecJson(dataset.Id, epochs: 4));

        var events = new List<JobEvent>();
        await foreach (JobEvent e in client.Jobs.WatchAsync(Guid.Parse(submitted.Job.Id)).WithCancellation(new CancellationTokenSource(s_trainingTimeout).Token))
        {
            events.Add(e);
        }

        Assert.True(handler.Dropped >= 2, $"dropped {handler.Dropped} streams");
        Assert.Equal([1, 2, 3, 4], events.Where(e => e.EpochCompleted is not null).Select(e => e.EpochCompleted.Metrics.Epoch));
        JobStatus[] statuses = events.Where(e => e.StatusChanged is not null).Select(e => e.StatusChanged.Status).ToArray();
        Assert.Equal(statuses.Distinct(), statuses);
        Assert.Equal(JobStatus.Succeeded, statuses[^1]);
    }

    /// <summary>A new dataset each call (a unique seed): equal content would return the existing dataset.</summary>
    private async Task<Dataset> UploadTinyAsync(IdxBuilder? builder = null)
    {
        (byte[] images, byte[] labels) = (builder ?? new IdxBuilder { Seed = ApiClient.UniqueSeed() }).Build();
        return await UploadAsync("tiny", [(DatasetFile.Images, IdxBuilder.Gzip(images)), (DatasetFile.Labels, labels)]);
    }

    /// <summary>Metadata (unless <paramref name="name"/> is null), then the files' chunks, round-robin across files.</summary>
    private async Task<Dataset> UploadAsync(string? name, (DatasetFile File, byte[] Bytes)[] files, int chunkSize = 64 * 1024)
    {
        using AsyncClientStreamingCall<UploadDatasetRequest, Dataset> call = Datasets.UploadDataset();
        if (name is not null)
        {
            await call.RequestStream.WriteAsync(new UploadDatasetRequest { Metadata = new DatasetMetadata { Name = name, Format = "idx" } });
        }
        for (int offset = 0; files.Any(f => offset < f.Bytes.Length); offset += chunkSize)
        {
            foreach ((DatasetFile file, byte[] bytes) in files.Where(f => offset < f.Bytes.Length))
            {
                ByteString data = ByteString.CopyFrom(bytes, offset, Math.Min(chunkSize, bytes.Length - offset));
                await call.RequestStream.WriteAsync(new UploadDatasetRequest { Chunk = new DatasetChunk { File = file, Data = data } });
            }
        }
        await call.RequestStream.CompleteAsync();
        return await call.ResponseAsync;
    }

    private static string SpecJson(string datasetId, int epochs) => JsonSerializer.Serialize(ApiClient.JobSpec(Guid.Parse(datasetId), epochs: epochs));

    private static async Task<List<JobEvent>> ReadAllAsync(AsyncServerStreamingCall<JobEvent> call)
    {
        using (call)
        {
            using var cts = new CancellationTokenSource(s_trainingTimeout);
            var events = new List<JobEvent>();
            while (await call.ResponseStream.MoveNext(cts.Token))
            {
                events.Add(call.ResponseStream.Current);
            }
            return events;
        }
    }

    /// <summary>Equal but for the timestamp's precision: PostgreSQL keeps microseconds, the upload's response has ticks.</summary>
    private static void AssertSameDataset(Dataset expected, Dataset actual)
    {
        Assert.InRange((actual.CreatedAt.ToDateTime() - expected.CreatedAt.ToDateTime()).Duration(), TimeSpan.Zero, TimeSpan.FromMicroseconds(1));
        Dataset a = expected.Clone(), b = actual.Clone();
        a.CreatedAt = b.CreatedAt = null;
        Assert.Equal(a, b);
    }

    private static void AssertFieldViolation(RpcException error, string field)
    {
        Assert.True(error.StatusCode == StatusCode.InvalidArgument, error.ToString());
        string[] fields = error.FieldViolations().Select(v => v.Field).ToArray();
        Assert.True(fields.Contains(field), $"expected a violation of '{field}', got [{string.Join(", ", fields)}]: {error.Status.Detail}");
    }

    /// <summary>Reports synchronously (Progress&lt;T&gt; posts to the thread pool, so the last report could arrive late).</summary>
    private sealed class SynchronousProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }

    /// <summary>Breaks the first two WatchJob response streams after their first event, as a dropped connection would.</summary>
    private sealed class DroppingHandler(HttpMessageHandler inner) : DelegatingHandler(inner)
    {
        public int Dropped;

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            HttpResponseMessage response = await base.SendAsync(request, cancellationToken);
            if (request.RequestUri!.AbsolutePath.EndsWith("/WatchJob", StringComparison.Ordinal) && Interlocked.Increment(ref Dropped) <= 2)
            {
                Stream body = await response.Content.ReadAsStreamAsync(cancellationToken);
                var content = new StreamContent(new BreakAfterFirstMessageStream(body));
                foreach (var header in response.Content.Headers)
                {
                    content.Headers.TryAddWithoutValidation(header.Key, header.Value);
                }
                response.Content = content;
            }
            else if (request.RequestUri!.AbsolutePath.EndsWith("/WatchJob", StringComparison.Ordinal))
            {
                Interlocked.Decrement(ref Dropped);
            }
            return response;
        }
    }

    /// <summary>Passes one gRPC message (5-byte prefix + payload) through, then fails like a reset connection.</summary>
    private sealed class BreakAfterFirstMessageStream(Stream inner) : Stream
    {
        private readonly MemoryStream _first = new();
        private bool _read;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (!_read)
            {
                _read = true;
                byte[] prefix = new byte[5];
                await inner.ReadExactlyAsync(prefix, cancellationToken);
                int length = System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(prefix.AsSpan(1));
                byte[] payload = new byte[length];
                await inner.ReadExactlyAsync(payload, cancellationToken);
                _first.Write(prefix);
                _first.Write(payload);
                _first.Position = 0;
            }
            int read = _first.Read(buffer.Span);
            return read > 0 ? read : throw new IOException("The connection was reset (test).");
        }

        public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }
            base.Dispose(disposing);
        }
    }
}

public sealed class SqliteGrpcTests(SqliteApi api) : GrpcTests<SqliteApi>(api), IClassFixture<SqliteApi>;

public sealed class PostgresGrpcTests(PostgresApi api) : GrpcTests<PostgresApi>(api), IClassFixture<PostgresApi>;

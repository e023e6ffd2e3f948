using System.Runtime.CompilerServices;
using System.Text.Json;
using JobSpec = Domain.Jobs.JobSpec;
using Google.Protobuf;
using Grpc.Net.Client.Configuration;

namespace TrainingService.Sdk;

/// <summary>
/// Typed async client of the training service over gRPC (<c>training.v1</c>). Thread-safe; create one per
/// service address and reuse it. Failures surface as <see cref="RpcException"/>: <see cref="StatusCode.InvalidArgument"/>
/// with the offending fields (<see cref="RpcExceptionExtensions.FieldViolations"/>), <see cref="StatusCode.NotFound"/>,
/// <see cref="StatusCode.AlreadyExists"/> or <see cref="StatusCode.FailedPrecondition"/>, as the REST API's 400, 404 and 409.
/// </summary>
/// <remarks>
/// Transient failures (<see cref="StatusCode.Unavailable"/>) are retried for calls that are safe to repeat:
/// reads, lists and <see cref="SubmitJobAsync(JobSpec, string?, CancellationToken)"/>, which always sends an
/// idempotency key. <see cref="WatchJobAsync"/> reconnects and resumes after the last epoch it yielded.
/// Uploads and cancellation are not retried.
/// </remarks>
public sealed class TrainingClient : IDisposable
{
    private static readonly JsonSerializerOptions s_specJson = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
    };

    private readonly GrpcChannel? _ownedChannel;
    private readonly TrainingClientOptions _options;
    private readonly DatasetService.DatasetServiceClient _datasets;
    private readonly JobService.JobServiceClient _jobs;
    private readonly RunService.RunServiceClient _runs;

    /// <summary>Wraps an existing channel (its retry configuration applies); the caller keeps ownership of it.</summary>
    public TrainingClient(ChannelBase channel, TrainingClientOptions? options = null)
        : this(channel.CreateCallInvoker(), options, null)
    {
    }

    private TrainingClient(CallInvoker invoker, TrainingClientOptions? options, GrpcChannel? ownedChannel)
    {
        _options = options ?? new TrainingClientOptions();
        _ownedChannel = ownedChannel;
        _datasets = new DatasetService.DatasetServiceClient(invoker);
        _jobs = new JobService.JobServiceClient(invoker);
        _runs = new RunService.RunServiceClient(invoker);
    }

    /// <summary>
    /// Connects to the service's gRPC endpoint, e.g. <c>http://localhost:5001</c> (the Api's <c>Grpc:Port</c>,
    /// HTTP/2 without TLS) or an https address. Retries follow <paramref name="options"/>.
    /// </summary>
    public static TrainingClient Create(Uri address, TrainingClientOptions? options = null)
    {
        options ??= new TrainingClientOptions();
        var channelOptions = new GrpcChannelOptions
        {
            HttpHandler = options.HttpHandler,
            DisposeHttpClient = options.HttpHandler is null,
            ServiceConfig = new ServiceConfig { MethodConfigs = { RetryConfig(options) } },
            MaxRetryAttempts = Math.Max(options.MaxAttempts, 1),
        };
        GrpcChannel channel = GrpcChannel.ForAddress(address, channelOptions);
        return new TrainingClient(channel.CreateCallInvoker(), options, channel);
    }

    /// <inheritdoc cref="Create(Uri, TrainingClientOptions?)"/>
    public static TrainingClient Create(string address, TrainingClientOptions? options = null) => Create(new Uri(address), options);

    /// <summary>Retry policy for the methods that are safe to repeat (never streams, uploads or cancellation).</summary>
    private static MethodConfig RetryConfig(TrainingClientOptions options)
    {
        var config = new MethodConfig
        {
            RetryPolicy = options.MaxAttempts <= 1 ? null : new RetryPolicy
            {
                MaxAttempts = Math.Max(options.MaxAttempts, 2),
                InitialBackoff = options.InitialBackoff,
                MaxBackoff = options.MaxBackoff,
                BackoffMultiplier = 2,
                RetryableStatusCodes = { StatusCode.Unavailable },
            },
        };
        foreach ((string service, string method) in new[]
        {
            ("DatasetService", "GetDataset"), ("DatasetService", "ListDatasets"),
            ("JobService", "SubmitJob"), ("JobService", "GetJob"), ("JobService", "ListJobs"),
            ("RunService", "GetRun"), ("RunService", "ListRuns"), ("RunService", "GetCurve"),
        })
        {
            config.Names.Add(new MethodName { Service = $"training.v1.{service}", Method = method });
        }
        return config;
    }

    // ------------------------------------------------------------------------------------------ datasets

    /// <summary>
    /// Streams an IDX dataset to the service in chunks; it is validated as a whole and stored only if every
    /// file is valid. <paramref name="progress"/> hears about every chunk sent.
    /// </summary>
    public async Task<Dataset> UploadDatasetAsync(
        string name, DatasetFiles files, IProgress<UploadProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(files);
        long? total = files.TotalBytes;
        long sent = 0;
        using AsyncClientStreamingCall<UploadDatasetRequest, Dataset> call = _datasets.UploadDataset(cancellationToken: cancellationToken);
        await call.RequestStream.WriteAsync(
            new UploadDatasetRequest { Metadata = new DatasetMetadata { Name = name, Format = "idx" } }, cancellationToken);
        byte[] buffer = new byte[Math.Clamp(_options.UploadChunkSize, 1024, 4 << 20) - 1024];
        foreach ((DatasetFile file, Stream stream) in files.Parts())
        {
            int read;
            while ((read = await stream.ReadAsync(buffer, cancellationToken)) > 0)
            {
                var chunk = new DatasetChunk { File = file, Data = ByteString.CopyFrom(buffer, 0, read) };
                try
                {
                    await call.RequestStream.WriteAsync(new UploadDatasetRequest { Chunk = chunk }, cancellationToken);
                }
                catch (RpcException)
                {
                    // The server refused the upload early (e.g. too large): its status is in the response.
                    return await call.ResponseAsync;
                }
                sent += read;
                progress?.Report(new UploadProgress(sent, total));
            }
        }
        await call.RequestStream.CompleteAsync();
        return await call.ResponseAsync;
    }

    /// <summary>Uploads the IDX files of <paramref name="folder"/> (see <see cref="DatasetFiles.FromIdxFolder"/>).</summary>
    public async Task<Dataset> UploadDatasetAsync(
        string name, string folder, IProgress<UploadProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        using DatasetFiles files = DatasetFiles.FromIdxFolder(folder);
        return await UploadDatasetAsync(name, files, progress, cancellationToken);
    }

    /// <summary>Gets a dataset.</summary>
    public async Task<Dataset> GetDatasetAsync(Guid id, CancellationToken cancellationToken = default) =>
        await _datasets.GetDatasetAsync(new GetDatasetRequest { Id = id.ToString() }, cancellationToken: cancellationToken);

    /// <summary>Lists datasets, newest first.</summary>
    public async Task<ListDatasetsResponse> ListDatasetsAsync(int offset = 0, int limit = 50, CancellationToken cancellationToken = default) =>
        await _datasets.ListDatasetsAsync(new ListDatasetsRequest { Offset = offset, Limit = limit }, cancellationToken: cancellationToken);

    // ---------------------------------------------------------------------------------------------- jobs

    /// <summary>
    /// Submits a job. Without <paramref name="idempotencyKey"/> a fresh one is generated, so the automatic
    /// retries of this call never create a second job.
    /// </summary>
    public Task<SubmitJobResponse> SubmitJobAsync(JobSpec spec, string? idempotencyKey = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(spec);
        return SubmitJobAsync(JsonSerializer.Serialize(spec, s_specJson), idempotencyKey, cancellationToken);
    }

    /// <summary>Submits a job spec given as the JSON body of the REST <c>POST /api/v1/jobs</c>.</summary>
    public async Task<SubmitJobResponse> SubmitJobAsync(string specJson, string? idempotencyKey = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(specJson);
        var request = new SubmitJobRequest { SpecJson = specJson, IdempotencyKey = idempotencyKey ?? Guid.NewGuid().ToString() };
        return await _jobs.SubmitJobAsync(request, cancellationToken: cancellationToken);
    }

    /// <summary>Gets a job's status, progress and latest metrics.</summary>
    public async Task<Job> GetJobAsync(Guid id, CancellationToken cancellationToken = default) =>
        await _jobs.GetJobAsync(new GetJobRequest { Id = id.ToString() }, cancellationToken: cancellationToken);

    /// <summary>Lists jobs, newest first, optionally by status and dataset.</summary>
    public async Task<ListJobsResponse> ListJobsAsync(
        JobStatus status = JobStatus.Unspecified, Guid? datasetId = null, int offset = 0, int limit = 50, CancellationToken cancellationToken = default) =>
        await _jobs.ListJobsAsync(new ListJobsRequest
        {
            Status = status,
            DatasetId = datasetId?.ToString() ?? "",
            Offset = offset,
            Limit = limit,
        }, cancellationToken: cancellationToken);

    /// <summary>Cancels a job (not retried: a repeated cancel of a job that is now cancelled is FAILED_PRECONDITION).</summary>
    public async Task<Job> CancelJobAsync(Guid id, CancellationToken cancellationToken = default) =>
        await _jobs.CancelJobAsync(new CancelJobRequest { Id = id.ToString() }, cancellationToken: cancellationToken);

    /// <summary>
    /// Follows a job until it finishes: a <see cref="StatusChanged"/> first and on every change, one
    /// <see cref="EpochCompleted"/> per epoch after <paramref name="afterEpoch"/>. A dropped connection is
    /// re-established transparently, resuming after the last epoch and status yielded, so no event repeats.
    /// The sequence ends when the job is Succeeded, Failed or Cancelled.
    /// </summary>
    public async IAsyncEnumerable<JobEvent> WatchJobAsync(
        Guid jobId, int afterEpoch = 0, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var request = new WatchJobRequest { JobId = jobId.ToString(), AfterEpoch = afterEpoch };
        int failures = 0;
        while (true)
        {
            using AsyncServerStreamingCall<JobEvent> call = _jobs.WatchJob(request, cancellationToken: cancellationToken);
            while (true)
            {
                bool next;
                try
                {
                    next = await call.ResponseStream.MoveNext(cancellationToken);
                }
                catch (RpcException ex) when (IsTransient(ex) && !cancellationToken.IsCancellationRequested && failures < _options.MaxWatchReconnects)
                {
                    failures++;
                    break;
                }
                if (!next)
                {
                    yield break;
                }
                failures = 0;
                JobEvent current = call.ResponseStream.Current;
                switch (current.EventCase)
                {
                    case JobEvent.EventOneofCase.EpochCompleted:
                        request.AfterEpoch = Math.Max(request.AfterEpoch, current.EpochCompleted.Metrics.Epoch);
                        break;
                    case JobEvent.EventOneofCase.StatusChanged:
                        request.KnownStatus = current.StatusChanged.Status;
                        break;
                }
                yield return current;
            }
            await Task.Delay(Backoff(failures), cancellationToken);
        }
    }

    // ---------------------------------------------------------------------------------------------- runs

    /// <summary>Gets a run with its per-epoch metrics.</summary>
    public async Task<Run> GetRunAsync(Guid id, CancellationToken cancellationToken = default) =>
        await _runs.GetRunAsync(new GetRunRequest { Id = id.ToString() }, cancellationToken: cancellationToken);

    /// <summary>Lists runs, newest first, optionally by job and status.</summary>
    public async Task<ListRunsResponse> ListRunsAsync(
        Guid? jobId = null, RunStatus status = RunStatus.Unspecified, int offset = 0, int limit = 50, CancellationToken cancellationToken = default) =>
        await _runs.ListRunsAsync(new ListRunsRequest
        {
            JobId = jobId?.ToString() ?? "",
            Status = status,
            Offset = offset,
            Limit = limit,
        }, cancellationToken: cancellationToken);

    /// <summary>Gets a run's accuracy-versus-rank curve (empty until the run has finished).</summary>
    public async Task<Curve> GetCurveAsync(Guid runId, CancellationToken cancellationToken = default) =>
        await _runs.GetCurveAsync(new GetCurveRequest { RunId = runId.ToString() }, cancellationToken: cancellationToken);

    /// <summary>Disposes the channel when this client created it.</summary>
    public void Dispose() => _ownedChannel?.Dispose();

    /// <summary>Worth a reconnect: the connection dropped, the server restarted or the call was reset.</summary>
    internal static bool IsTransient(RpcException ex) =>
        ex.StatusCode is StatusCode.Unavailable or StatusCode.Internal or StatusCode.Aborted or StatusCode.Unknown or StatusCode.DeadlineExceeded;

    private TimeSpan Backoff(int failures)
    {
        double ms = _options.InitialBackoff.TotalMilliseconds * Math.Pow(2, Math.Max(failures - 1, 0));
        return TimeSpan.FromMilliseconds(Math.Min(ms, _options.MaxBackoff.TotalMilliseconds));
    }
}

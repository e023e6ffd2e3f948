using System.ComponentModel;
using JobSpec = Domain.Jobs.JobSpec;
using Grpc.Core.Interceptors;
using Grpc.Net.Client.Configuration;

namespace TrainingService.Sdk;

/// <summary>
/// Typed async client of the training service over gRPC (<c>training.v1</c>). Thread-safe; create one per
/// service address and reuse it. Each service has its own client, all sharing this one's channel, API key,
/// retry policy and options: <see cref="Datasets"/>, <see cref="Jobs"/>, <see cref="Runs"/>, <see cref="Variants"/>,
/// <see cref="Devices"/> and <see cref="Workers"/>; <see cref="Profiler"/> times a run's variants on this machine.
/// Failures surface as <see cref="RpcException"/>: <see cref="StatusCode.InvalidArgument"/>
/// with the offending fields (<see cref="RpcExceptionExtensions.FieldViolations"/>), <see cref="StatusCode.NotFound"/>,
/// <see cref="StatusCode.AlreadyExists"/> or <see cref="StatusCode.FailedPrecondition"/>, as the REST API's 400, 404 and 409;
/// <see cref="StatusCode.OutOfRange"/> when no variant fits a latency budget (REST's 422, see
/// <see cref="RpcExceptionExtensions.FastestLatencyMs"/>).
/// </summary>
/// <remarks>
/// Transient failures (<see cref="StatusCode.Unavailable"/>) are retried for calls that are safe to repeat:
/// reads, lists, variant selection and downloads, <see cref="DevicesClient.PostLatenciesAsync"/> (an upsert) and
/// <see cref="JobsClient.SubmitAsync(JobSpec, string?, CancellationToken)"/>, which always sends an idempotency key.
/// <see cref="JobsClient.WatchAsync"/> reconnects and resumes after the last epoch it yielded.
/// Uploads, cancellation and <see cref="DevicesClient.CreateAsync"/> are not retried. The members of this class
/// other than the per-service clients are the 1.x calls, kept as delegations to them.
/// </remarks>
public sealed class TrainingClient : IDisposable
{
    /// <summary>Metadata (HTTP header) that carries the API key.</summary>
    public const string ApiKeyMetadata = "x-api-key";

    /// <summary>Environment variable read when <see cref="TrainingClientOptions.ApiKey"/> is null.</summary>
    public const string ApiKeyEnvironmentVariable = "TRAINING_API_KEY";

    private readonly GrpcChannel? _ownedChannel;

    /// <summary>Wraps an existing channel (its retry configuration applies); the caller keeps ownership of it.</summary>
    public TrainingClient(ChannelBase channel, TrainingClientOptions? options = null)
        : this(channel.CreateCallInvoker(), options, null)
    {
    }

    private TrainingClient(CallInvoker invoker, TrainingClientOptions? options, GrpcChannel? ownedChannel)
    {
        options ??= new TrainingClientOptions();
        _ownedChannel = ownedChannel;
        string? apiKey = options.ApiKey ?? Environment.GetEnvironmentVariable(ApiKeyEnvironmentVariable);
        if (!string.IsNullOrEmpty(apiKey))
        {
            invoker = invoker.Intercept(metadata =>
            {
                metadata.Add(ApiKeyMetadata, apiKey);
                return metadata;
            });
        }
        var context = new ClientContext(invoker, options);
        Datasets = new DatasetsClient(context);
        Jobs = new JobsClient(context);
        Runs = new RunsClient(context);
        Variants = new VariantsClient(context);
        Devices = new DevicesClient(context);
        Workers = new WorkersClient(context);
        Profiler = new VariantProfiler(Runs, Variants, Devices);
    }

    /// <summary>Datasets (<c>training.v1.DatasetService</c>): uploads in every format, gets and lists.</summary>
    public DatasetsClient Datasets { get; }

    /// <summary>Jobs (<c>training.v1.JobService</c>): submit, get, list, cancel and watch.</summary>
    public JobsClient Jobs { get; }

    /// <summary>Runs (<c>training.v1.RunService</c>): runs with their metrics, lists and rank-accuracy curves.</summary>
    public RunsClient Runs { get; }

    /// <summary>Variants (<c>training.v1.VariantService</c>): frontiers, selection within a latency budget and verified downloads.</summary>
    public VariantsClient Variants { get; }

    /// <summary>Device profiles (<c>training.v1.DeviceService</c>): list, get, create and post latencies.</summary>
    public DevicesClient Devices { get; }

    /// <summary>Training workers (<c>training.v1.WorkerService</c>; admin keys only).</summary>
    public WorkersClient Workers { get; }

    /// <summary>Times a run's ONNX variants on this machine and stores the table on a device profile.</summary>
    public VariantProfiler Profiler { get; }

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

    /// <summary>
    /// Retry policy for the methods that are safe to repeat (never uploads, cancellation or device creation).
    /// FetchVariant is retried only until its first message arrives (grpc-dotnet commits a call then), so no
    /// byte is written twice.
    /// </summary>
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
            ("VariantService", "ListVariants"), ("VariantService", "SelectVariant"), ("VariantService", "FetchVariant"),
            ("DeviceService", "ListDevices"), ("DeviceService", "GetDevice"), ("DeviceService", "PostLatencies"),
            ("WorkerService", "ListWorkers"),
        })
        {
            config.Names.Add(new MethodName { Service = $"training.v1.{service}", Method = method });
        }
        return config;
    }

    /// <summary>Disposes the channel when this client created it.</summary>
    public void Dispose() => _ownedChannel?.Dispose();

    // The 1.x calls, one per RPC on this class: each delegates to its per-service client, so retries, deadlines,
    // cancellation and errors are those of the new calls. Renamed ones are obsolete; the rest keep their names.

    // ------------------------------------------------------------------------------------------ datasets

    /// <inheritdoc cref="DatasetsClient.UploadIdxAsync(string, DatasetFiles, IProgress{UploadProgress}?, CancellationToken)"/>
    [Obsolete("Use client.Datasets.UploadIdxAsync.")]
    public Task<Dataset> UploadDatasetAsync(
        string name, DatasetFiles files, IProgress<UploadProgress>? progress = null, CancellationToken cancellationToken = default) =>
        Datasets.UploadIdxAsync(name, files, progress, cancellationToken);

    /// <inheritdoc cref="DatasetsClient.UploadIdxAsync(string, string, IProgress{UploadProgress}?, CancellationToken)"/>
    [Obsolete("Use client.Datasets.UploadIdxAsync.")]
    public Task<Dataset> UploadDatasetAsync(
        string name, string folder, IProgress<UploadProgress>? progress = null, CancellationToken cancellationToken = default) =>
        Datasets.UploadIdxAsync(name, folder, progress, cancellationToken);

    /// <inheritdoc cref="DatasetsClient.UploadIdxArchiveAsync(string, Stream, IProgress{UploadProgress}?, CancellationToken)"/>
    public Task<Dataset> UploadIdxArchiveAsync(
        string name, Stream archive, IProgress<UploadProgress>? progress = null, CancellationToken cancellationToken = default) =>
        Datasets.UploadIdxArchiveAsync(name, archive, progress, cancellationToken);

    /// <inheritdoc cref="DatasetsClient.UploadIdxArchiveAsync(string, string, IProgress{UploadProgress}?, CancellationToken)"/>
    public Task<Dataset> UploadIdxArchiveAsync(
        string name, string archivePath, IProgress<UploadProgress>? progress = null, CancellationToken cancellationToken = default) =>
        Datasets.UploadIdxArchiveAsync(name, archivePath, progress, cancellationToken);

    /// <inheritdoc cref="DatasetsClient.UploadCsvAsync(string, Stream, Stream?, CsvUploadOptions?, IProgress{UploadProgress}?, CancellationToken)"/>
    [Obsolete("Use client.Datasets.UploadCsvAsync.")]
    public Task<Dataset> UploadCsvDatasetAsync(
        string name, Stream data, Stream? testData = null, CsvUploadOptions? options = null,
        IProgress<UploadProgress>? progress = null, CancellationToken cancellationToken = default) =>
        Datasets.UploadCsvAsync(name, data, testData, options, progress, cancellationToken);

    /// <inheritdoc cref="DatasetsClient.UploadCsvAsync(string, string, string?, CsvUploadOptions?, IProgress{UploadProgress}?, CancellationToken)"/>
    [Obsolete("Use client.Datasets.UploadCsvAsync.")]
    public Task<Dataset> UploadCsvDatasetAsync(
        string name, string dataPath, string? testDataPath = null, CsvUploadOptions? options = null,
        IProgress<UploadProgress>? progress = null, CancellationToken cancellationToken = default) =>
        Datasets.UploadCsvAsync(name, dataPath, testDataPath, options, progress, cancellationToken);

    /// <inheritdoc cref="DatasetsClient.UploadImageFolderZipAsync(string, Stream, ImageUploadOptions?, IProgress{UploadProgress}?, CancellationToken)"/>
    public Task<Dataset> UploadImageFolderZipAsync(
        string name, Stream archive, ImageUploadOptions? options = null,
        IProgress<UploadProgress>? progress = null, CancellationToken cancellationToken = default) =>
        Datasets.UploadImageFolderZipAsync(name, archive, options, progress, cancellationToken);

    /// <inheritdoc cref="DatasetsClient.UploadImageFolderZipAsync(string, string, ImageUploadOptions?, IProgress{UploadProgress}?, CancellationToken)"/>
    public Task<Dataset> UploadImageFolderZipAsync(
        string name, string archivePath, ImageUploadOptions? options = null,
        IProgress<UploadProgress>? progress = null, CancellationToken cancellationToken = default) =>
        Datasets.UploadImageFolderZipAsync(name, archivePath, options, progress, cancellationToken);

    /// <inheritdoc cref="DatasetsClient.UploadImageFolderAsync"/>
    public Task<Dataset> UploadImageFolderAsync(
        string name, string folder, ImageUploadOptions? options = null,
        IProgress<UploadProgress>? progress = null, CancellationToken cancellationToken = default) =>
        Datasets.UploadImageFolderAsync(name, folder, options, progress, cancellationToken);

    /// <inheritdoc cref="DatasetsClient.GetAsync"/>
    [Obsolete("Use client.Datasets.GetAsync.")]
    public Task<Dataset> GetDatasetAsync(Guid id, CancellationToken cancellationToken = default) =>
        Datasets.GetAsync(id, cancellationToken);

    /// <inheritdoc cref="DatasetsClient.ListAsync"/>
    [Obsolete("Use client.Datasets.ListAsync.")]
    public Task<ListDatasetsResponse> ListDatasetsAsync(
        int offset = 0, int limit = 50, DateTimeOffset? createdAfter = null, DateTimeOffset? createdBefore = null,
        CancellationToken cancellationToken = default) =>
        Datasets.ListAsync(offset, limit, createdAfter, createdBefore, cancellationToken);

    /// <summary>Lists datasets, newest first (the 1.0 signature; see the overload with a creation-time window).</summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    [Obsolete("Use client.Datasets.ListAsync.")]
    public Task<ListDatasetsResponse> ListDatasetsAsync(int offset, int limit, CancellationToken cancellationToken) =>
        Datasets.ListAsync(offset, limit, null, null, cancellationToken);

    // ---------------------------------------------------------------------------------------------- jobs

    /// <inheritdoc cref="JobsClient.SubmitAsync(JobSpec, string?, CancellationToken)"/>
    [Obsolete("Use client.Jobs.SubmitAsync.")]
    public Task<SubmitJobResponse> SubmitJobAsync(JobSpec spec, string? idempotencyKey = null, CancellationToken cancellationToken = default) =>
        Jobs.SubmitAsync(spec, idempotencyKey, cancellationToken);

    /// <inheritdoc cref="JobsClient.SubmitAsync(string, string?, CancellationToken)"/>
    [Obsolete("Use client.Jobs.SubmitAsync.")]
    public Task<SubmitJobResponse> SubmitJobAsync(string specJson, string? idempotencyKey = null, CancellationToken cancellationToken = default) =>
        Jobs.SubmitAsync(specJson, idempotencyKey, cancellationToken);

    /// <inheritdoc cref="JobsClient.GetAsync"/>
    [Obsolete("Use client.Jobs.GetAsync.")]
    public Task<Job> GetJobAsync(Guid id, CancellationToken cancellationToken = default) =>
        Jobs.GetAsync(id, cancellationToken);

    /// <inheritdoc cref="JobsClient.ListAsync"/>
    [Obsolete("Use client.Jobs.ListAsync.")]
    public Task<ListJobsResponse> ListJobsAsync(
        JobStatus status = JobStatus.Unspecified, Guid? datasetId = null, int offset = 0, int limit = 50,
        DateTimeOffset? createdAfter = null, DateTimeOffset? createdBefore = null, CancellationToken cancellationToken = default) =>
        Jobs.ListAsync(status, datasetId, offset, limit, createdAfter, createdBefore, cancellationToken);

    /// <summary>Lists jobs, newest first, by status and dataset (the 1.0 signature; see the overload with a creation-time window).</summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    [Obsolete("Use client.Jobs.ListAsync.")]
    public Task<ListJobsResponse> ListJobsAsync(JobStatus status, Guid? datasetId, int offset, int limit, CancellationToken cancellationToken) =>
        Jobs.ListAsync(status, datasetId, offset, limit, null, null, cancellationToken);

    /// <inheritdoc cref="JobsClient.CancelAsync"/>
    [Obsolete("Use client.Jobs.CancelAsync.")]
    public Task<Job> CancelJobAsync(Guid id, CancellationToken cancellationToken = default) =>
        Jobs.CancelAsync(id, cancellationToken);

    /// <inheritdoc cref="JobsClient.WatchAsync"/>
    [Obsolete("Use client.Jobs.WatchAsync.")]
    public IAsyncEnumerable<JobEvent> WatchJobAsync(Guid jobId, int afterEpoch = 0, CancellationToken cancellationToken = default) =>
        Jobs.WatchAsync(jobId, afterEpoch, cancellationToken);

    // ---------------------------------------------------------------------------------------------- runs

    /// <inheritdoc cref="RunsClient.GetAsync"/>
    [Obsolete("Use client.Runs.GetAsync.")]
    public Task<Run> GetRunAsync(Guid id, CancellationToken cancellationToken = default) =>
        Runs.GetAsync(id, cancellationToken);

    /// <inheritdoc cref="RunsClient.ListAsync"/>
    [Obsolete("Use client.Runs.ListAsync.")]
    public Task<ListRunsResponse> ListRunsAsync(
        Guid? jobId = null, RunStatus status = RunStatus.Unspecified, int offset = 0, int limit = 50, Guid? datasetId = null,
        DateTimeOffset? startedAfter = null, DateTimeOffset? startedBefore = null, CancellationToken cancellationToken = default) =>
        Runs.ListAsync(jobId, status, offset, limit, datasetId, startedAfter, startedBefore, cancellationToken);

    /// <summary>Lists runs, newest first, by job and status (the 1.0 signature; see the overload with dataset and start-time filters).</summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    [Obsolete("Use client.Runs.ListAsync.")]
    public Task<ListRunsResponse> ListRunsAsync(Guid? jobId, RunStatus status, int offset, int limit, CancellationToken cancellationToken) =>
        Runs.ListAsync(jobId, status, offset, limit, null, null, null, cancellationToken);

    /// <inheritdoc cref="RunsClient.GetCurveAsync"/>
    public Task<Curve> GetCurveAsync(Guid runId, CancellationToken cancellationToken = default) =>
        Runs.GetCurveAsync(runId, cancellationToken);

    // ------------------------------------------------------------------------------------------ variants

    /// <inheritdoc cref="VariantsClient.ListAsync"/>
    [Obsolete("Use client.Variants.ListAsync.")]
    public Task<ListVariantsResponse> ListVariantsAsync(
        Guid runId, string? device = null, int batch = 1, CancellationToken cancellationToken = default) =>
        Variants.ListAsync(runId, device, batch, cancellationToken);

    /// <inheritdoc cref="VariantsClient.SelectAsync"/>
    [Obsolete("Use client.Variants.SelectAsync.")]
    public Task<VariantSelection> SelectVariantAsync(
        Guid runId, string device, double latencyBudgetMs, int batch = 1, CancellationToken cancellationToken = default) =>
        Variants.SelectAsync(runId, device, latencyBudgetMs, batch, cancellationToken);

    /// <inheritdoc cref="VariantsClient.FetchAsync(Guid, double, Stream, VariantFormat, CancellationToken)"/>
    [Obsolete("Use client.Variants.FetchAsync.")]
    public Task<VariantFileSummary> FetchVariantAsync(
        Guid runId, double rankFraction, Stream destination, VariantFormat format = VariantFormat.Onnx, CancellationToken cancellationToken = default) =>
        Variants.FetchAsync(runId, rankFraction, destination, format, cancellationToken);

    /// <inheritdoc cref="VariantsClient.FetchAsync(Guid, double, string, VariantFormat, CancellationToken)"/>
    [Obsolete("Use client.Variants.FetchAsync.")]
    public Task<VariantFileSummary> FetchVariantAsync(
        Guid runId, double rankFraction, string path, VariantFormat format = VariantFormat.Onnx, CancellationToken cancellationToken = default) =>
        Variants.FetchAsync(runId, rankFraction, path, format, cancellationToken);

    // ------------------------------------------------------------------------------------------- devices

    /// <inheritdoc cref="DevicesClient.ListAsync"/>
    [Obsolete("Use client.Devices.ListAsync.")]
    public Task<IReadOnlyList<Device>> ListDevicesAsync(CancellationToken cancellationToken = default) =>
        Devices.ListAsync(cancellationToken);

    /// <inheritdoc cref="DevicesClient.GetAsync"/>
    [Obsolete("Use client.Devices.GetAsync.")]
    public Task<Device> GetDeviceAsync(string name, CancellationToken cancellationToken = default) =>
        Devices.GetAsync(name, cancellationToken);

    /// <inheritdoc cref="DevicesClient.CreateAsync"/>
    [Obsolete("Use client.Devices.CreateAsync.")]
    public Task<Device> CreateDeviceAsync(CreateDeviceRequest request, CancellationToken cancellationToken = default) =>
        Devices.CreateAsync(request, cancellationToken);

    /// <inheritdoc cref="DevicesClient.PostLatenciesAsync"/>
    public Task<PostLatenciesResponse> PostLatenciesAsync(
        string device, Guid runId, IEnumerable<LatencyMeasurement> measurements, string? runtime = null, int? threads = null,
        CancellationToken cancellationToken = default) =>
        Devices.PostLatenciesAsync(device, runId, measurements, runtime, threads, cancellationToken);

    // ------------------------------------------------------------------------------------------- workers

    /// <inheritdoc cref="WorkersClient.ListAsync"/>
    [Obsolete("Use client.Workers.ListAsync.")]
    public Task<IReadOnlyList<WorkerInfo>> ListWorkersAsync(CancellationToken cancellationToken = default) =>
        Workers.ListAsync(cancellationToken);

    // ----------------------------------------------------------------------------------------- profiling

    /// <inheritdoc cref="VariantProfiler.ProfileAsync"/>
    public Task<LatencyTable> ProfileAsync(Guid runId, string deviceName, ProfileOptions? options = null, CancellationToken cancellationToken = default) =>
        Profiler.ProfileAsync(runId, deviceName, options, cancellationToken);
}

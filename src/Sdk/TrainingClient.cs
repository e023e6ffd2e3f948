using System.ComponentModel;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text.Json;
using JobSpec = Domain.Jobs.JobSpec;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core.Interceptors;
using Grpc.Net.Client.Configuration;

namespace TrainingService.Sdk;

/// <summary>
/// Typed async client of the training service over gRPC (<c>training.v1</c>). Thread-safe; create one per
/// service address and reuse it. Failures surface as <see cref="RpcException"/>: <see cref="StatusCode.InvalidArgument"/>
/// with the offending fields (<see cref="RpcExceptionExtensions.FieldViolations"/>), <see cref="StatusCode.NotFound"/>,
/// <see cref="StatusCode.AlreadyExists"/> or <see cref="StatusCode.FailedPrecondition"/>, as the REST API's 400, 404 and 409;
/// <see cref="StatusCode.OutOfRange"/> when no variant fits a latency budget (REST's 422, see
/// <see cref="RpcExceptionExtensions.FastestLatencyMs"/>).
/// </summary>
/// <remarks>
/// Transient failures (<see cref="StatusCode.Unavailable"/>) are retried for calls that are safe to repeat:
/// reads, lists, variant selection and downloads, <see cref="PostLatenciesAsync"/> (an upsert) and
/// <see cref="SubmitJobAsync(JobSpec, string?, CancellationToken)"/>, which always sends an idempotency key.
/// <see cref="WatchJobAsync"/> reconnects and resumes after the last epoch it yielded.
/// Uploads, cancellation and <see cref="CreateDeviceAsync"/> are not retried.
/// </remarks>
public sealed class TrainingClient : IDisposable
{
    /// <summary>Metadata (HTTP header) that carries the API key.</summary>
    public const string ApiKeyMetadata = "x-api-key";

    /// <summary>Environment variable read when <see cref="TrainingClientOptions.ApiKey"/> is null.</summary>
    public const string ApiKeyEnvironmentVariable = "TRAINING_API_KEY";

    private readonly GrpcChannel? _ownedChannel;
    private readonly TrainingClientOptions _options;
    private readonly DatasetService.DatasetServiceClient _datasets;
    private readonly JobService.JobServiceClient _jobs;
    private readonly RunService.RunServiceClient _runs;
    private readonly VariantService.VariantServiceClient _variants;
    private readonly DeviceService.DeviceServiceClient _devices;
    private readonly WorkerService.WorkerServiceClient _workers;

    /// <summary>Wraps an existing channel (its retry configuration applies); the caller keeps ownership of it.</summary>
    public TrainingClient(ChannelBase channel, TrainingClientOptions? options = null)
        : this(channel.CreateCallInvoker(), options, null)
    {
    }

    private TrainingClient(CallInvoker invoker, TrainingClientOptions? options, GrpcChannel? ownedChannel)
    {
        _options = options ?? new TrainingClientOptions();
        _ownedChannel = ownedChannel;
        string? apiKey = _options.ApiKey ?? Environment.GetEnvironmentVariable(ApiKeyEnvironmentVariable);
        if (!string.IsNullOrEmpty(apiKey))
        {
            invoker = invoker.Intercept(metadata =>
            {
                metadata.Add(ApiKeyMetadata, apiKey);
                return metadata;
            });
        }
        _datasets = new DatasetService.DatasetServiceClient(invoker);
        _jobs = new JobService.JobServiceClient(invoker);
        _runs = new RunService.RunServiceClient(invoker);
        _variants = new VariantService.VariantServiceClient(invoker);
        _devices = new DeviceService.DeviceServiceClient(invoker);
        _workers = new WorkerService.WorkerServiceClient(invoker);
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

    // ------------------------------------------------------------------------------------------ datasets

    /// <summary>
    /// Streams an IDX dataset to the service in chunks; it is validated as a whole and stored only if every
    /// file is valid. <paramref name="progress"/> hears about every chunk sent.
    /// </summary>
    public async Task<Dataset> UploadDatasetAsync(
        string name, DatasetFiles files, IProgress<UploadProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(files);
        return await UploadAsync(new DatasetMetadata { Name = name, Format = "idx" }, files.TotalBytes, progress, async writer =>
        {
            foreach ((DatasetFile file, Stream stream) in files.Parts())
            {
                await writer.SendAsync(file, stream);
            }
        }, cancellationToken);
    }

    /// <summary>Uploads the IDX files of <paramref name="folder"/> (see <see cref="DatasetFiles.FromIdxFolder"/>).</summary>
    public async Task<Dataset> UploadDatasetAsync(
        string name, string folder, IProgress<UploadProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        using DatasetFiles files = DatasetFiles.FromIdxFolder(folder);
        return await UploadDatasetAsync(name, files, progress, cancellationToken);
    }

    /// <summary>
    /// Uploads an IDX dataset packed in one ZIP: <c>train-images*</c> and <c>train-labels*</c>, optionally
    /// <c>t10k-images*</c>/<c>t10k-labels*</c> (or <c>test-*</c>), each raw or gzip, in any folder; other entries are
    /// ignored. The result is the same dataset as uploading the files one by one.
    /// </summary>
    public async Task<Dataset> UploadIdxArchiveAsync(
        string name, Stream archive, IProgress<UploadProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(archive);
        return await UploadAsync(new DatasetMetadata { Name = name, Format = "idx" }, DatasetUploadWriter.Remaining(archive), progress,
            writer => writer.SendAsync(DatasetFile.Archive, archive), cancellationToken);
    }

    /// <summary>Uploads the IDX ZIP file <paramref name="archivePath"/>; see <see cref="UploadIdxArchiveAsync(string, Stream, IProgress{UploadProgress}?, CancellationToken)"/>.</summary>
    public async Task<Dataset> UploadIdxArchiveAsync(
        string name, string archivePath, IProgress<UploadProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(archivePath);
        await using FileStream archive = File.OpenRead(archivePath);
        return await UploadIdxArchiveAsync(name, archive, progress, cancellationToken);
    }

    /// <summary>
    /// Uploads a CSV table as a dataset (format <c>csv</c>): one row per sample, numeric feature columns and one label
    /// column (integers 0..C-1, or strings whose ordinal order gives the class indices). The service detects the
    /// delimiter (<c>,</c> <c>;</c> or tab) and, unless <paramref name="options"/> says, the header and the label
    /// column; it stores the table as IDX bytes, each feature min-max scaled to 0..255 with the training data's
    /// range, so the sample shape is [features]. The streams are read once from their current position (raw or
    /// gzip) and are not disposed. Nothing is stored unless both files are valid; a bad table is
    /// <see cref="StatusCode.InvalidArgument"/> naming <c>data</c>, <c>testData</c>, <c>labelColumn</c> or <c>hasHeader</c>.
    /// </summary>
    /// <param name="name">The dataset's name (1 to 200 characters).</param>
    /// <param name="data">The training table.</param>
    /// <param name="testData">A test table with the same columns, or null to let the worker hold out 20% of the samples.</param>
    /// <param name="options">The label column and whether there is a header; null detects both.</param>
    /// <param name="progress">Hears about every chunk sent; the total is known when the streams can seek.</param>
    /// <param name="cancellationToken">Cancels the upload; nothing is stored then.</param>
    public async Task<Dataset> UploadCsvDatasetAsync(
        string name, Stream data, Stream? testData = null, CsvUploadOptions? options = null,
        IProgress<UploadProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(data);
        var metadata = new DatasetMetadata { Name = name, Format = "csv" };
        options?.AddTo(metadata.Options);
        long? total = DatasetUploadWriter.Remaining(data) + (testData is null ? 0 : DatasetUploadWriter.Remaining(testData));
        return await UploadAsync(metadata, total, progress, async writer =>
        {
            await writer.SendAsync(DatasetFile.Data, data);
            if (testData is not null)
            {
                await writer.SendAsync(DatasetFile.TestData, testData);
            }
        }, cancellationToken);
    }

    /// <summary>Uploads the CSV file <paramref name="dataPath"/> (and the test table <paramref name="testDataPath"/>), raw or <c>.gz</c>; see <see cref="UploadCsvDatasetAsync(string, Stream, Stream?, CsvUploadOptions?, IProgress{UploadProgress}?, CancellationToken)"/>.</summary>
    public async Task<Dataset> UploadCsvDatasetAsync(
        string name, string dataPath, string? testDataPath = null, CsvUploadOptions? options = null,
        IProgress<UploadProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(dataPath);
        await using FileStream data = File.OpenRead(dataPath);
        await using FileStream? testData = testDataPath is null ? null : File.OpenRead(testDataPath);
        return await UploadCsvDatasetAsync(name, data, testData, options, progress, cancellationToken);
    }

    /// <summary>
    /// Uploads an image-folder ZIP as a dataset (format <c>zip</c>): one top-level folder of PNG or JPEG images per
    /// class (class index = folder names in ordinal order), or <c>train/</c> and <c>test/</c> folders that each hold
    /// the class folders. The service resizes every image to <paramref name="options"/>' size (default 28×28 grey)
    /// and stores IDX bytes. The stream is read once from its current position and is not disposed. A bad archive
    /// is <see cref="StatusCode.InvalidArgument"/> naming <c>archive</c> (or <c>width</c>, <c>height</c>, <c>channels</c>).
    /// </summary>
    /// <param name="name">The dataset's name (1 to 200 characters).</param>
    /// <param name="archive">The ZIP file.</param>
    /// <param name="options">Image size and channels; null uses the service's defaults (28×28, grey).</param>
    /// <param name="progress">Hears about every chunk sent; the total is known when the stream can seek.</param>
    /// <param name="cancellationToken">Cancels the upload; nothing is stored then.</param>
    public async Task<Dataset> UploadImageFolderZipAsync(
        string name, Stream archive, ImageUploadOptions? options = null,
        IProgress<UploadProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(archive);
        return await UploadAsync(ZipMetadata(name, options), DatasetUploadWriter.Remaining(archive), progress,
            writer => writer.SendAsync(DatasetFile.Archive, archive), cancellationToken);
    }

    /// <summary>Uploads the image-folder ZIP file <paramref name="archivePath"/>; see <see cref="UploadImageFolderZipAsync(string, Stream, ImageUploadOptions?, IProgress{UploadProgress}?, CancellationToken)"/>.</summary>
    public async Task<Dataset> UploadImageFolderZipAsync(
        string name, string archivePath, ImageUploadOptions? options = null,
        IProgress<UploadProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(archivePath);
        await using FileStream archive = File.OpenRead(archivePath);
        return await UploadImageFolderZipAsync(name, archive, options, progress, cancellationToken);
    }

    /// <summary>
    /// Uploads a local folder of images as a dataset (format <c>zip</c>), zipping it while it is sent: nothing is
    /// written to disk and only one chunk is held in memory. Lay it out as
    /// <see cref="UploadImageFolderZipAsync(string, Stream, ImageUploadOptions?, IProgress{UploadProgress}?, CancellationToken)"/>'s
    /// archive: <c>folder/&lt;class&gt;/*.png</c>, or <c>folder/train/&lt;class&gt;/…</c> and <c>folder/test/&lt;class&gt;/…</c>.
    /// Only <c>.png</c>, <c>.jpg</c> and <c>.jpeg</c> files are sent; other files and hidden files or folders are skipped.
    /// The total size is not known in advance, so <see cref="UploadProgress.TotalBytes"/> is null.
    /// </summary>
    /// <param name="name">The dataset's name (1 to 200 characters).</param>
    /// <param name="folder">The folder of class sub-folders.</param>
    /// <param name="options">Image size and channels; null uses the service's defaults (28×28, grey).</param>
    /// <param name="progress">Hears about every chunk sent (bytes of the ZIP).</param>
    /// <param name="cancellationToken">Cancels the upload; nothing is stored then.</param>
    /// <exception cref="DirectoryNotFoundException"><paramref name="folder"/> does not exist.</exception>
    /// <exception cref="ArgumentException"><paramref name="folder"/> holds no PNG or JPEG image.</exception>
    public async Task<Dataset> UploadImageFolderAsync(
        string name, string folder, ImageUploadOptions? options = null,
        IProgress<UploadProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        IReadOnlyList<(string Entry, string Path)> images = ImageFolderArchive.List(folder);
        return await UploadAsync(ZipMetadata(name, options), null, progress, async writer =>
        {
            await using Stream archive = writer.OpenWrite(DatasetFile.Archive);
            await ImageFolderArchive.WriteAsync(images, archive, cancellationToken);
        }, cancellationToken);
    }

    private static DatasetMetadata ZipMetadata(string name, ImageUploadOptions? options)
    {
        var metadata = new DatasetMetadata { Name = name, Format = "zip" };
        options?.AddTo(metadata.Options);
        return metadata;
    }

    /// <summary>
    /// One UploadDataset call: the metadata, then whatever <paramref name="sendFiles"/> writes, then the service's answer.
    /// Disposing the call before completing it (an exception, cancellation) aborts the upload, so nothing is stored.
    /// </summary>
    private async Task<Dataset> UploadAsync(
        DatasetMetadata metadata, long? totalBytes, IProgress<UploadProgress>? progress,
        Func<DatasetUploadWriter, Task> sendFiles, CancellationToken cancellationToken)
    {
        using AsyncClientStreamingCall<UploadDatasetRequest, Dataset> call = _datasets.UploadDataset(cancellationToken: cancellationToken);
        int chunkSize = Math.Clamp(_options.UploadChunkSize, 1024, 4 << 20) - 1024;
        try
        {
            await call.RequestStream.WriteAsync(new UploadDatasetRequest { Metadata = metadata }, cancellationToken);
            await sendFiles(new DatasetUploadWriter(call.RequestStream, chunkSize, totalBytes, progress, cancellationToken));
        }
        catch (RpcException)
        {
            // The server refused the upload early (no or a bad API key, too large): its status is in the response.
            return await call.ResponseAsync;
        }
        await call.RequestStream.CompleteAsync();
        return await call.ResponseAsync;
    }

    /// <summary>Gets a dataset.</summary>
    public async Task<Dataset> GetDatasetAsync(Guid id, CancellationToken cancellationToken = default) =>
        await _datasets.GetDatasetAsync(new GetDatasetRequest { Id = id.ToString() }, cancellationToken: cancellationToken);

    /// <summary>
    /// Lists datasets, newest first; with <paramref name="createdAfter"/> and <paramref name="createdBefore"/> only those
    /// created in that window (start inclusive, end exclusive; either may be left open). A start later than the end
    /// is <see cref="StatusCode.InvalidArgument"/> naming <c>createdBefore</c>.
    /// </summary>
    public async Task<ListDatasetsResponse> ListDatasetsAsync(
        int offset = 0, int limit = 50, DateTimeOffset? createdAfter = null, DateTimeOffset? createdBefore = null,
        CancellationToken cancellationToken = default) =>
        await _datasets.ListDatasetsAsync(new ListDatasetsRequest
        {
            Offset = offset,
            Limit = limit,
            CreatedAfter = ToTimestamp(createdAfter),
            CreatedBefore = ToTimestamp(createdBefore),
        }, cancellationToken: cancellationToken);

    /// <summary>Lists datasets, newest first (the 1.0 signature; see the overload with a creation-time window).</summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    public Task<ListDatasetsResponse> ListDatasetsAsync(int offset, int limit, CancellationToken cancellationToken) =>
        ListDatasetsAsync(offset, limit, null, null, cancellationToken);

    // ---------------------------------------------------------------------------------------------- jobs

    /// <summary>
    /// Submits a job. Without <paramref name="idempotencyKey"/> a fresh one is generated, so the automatic
    /// retries of this call never create a second job.
    /// </summary>
    public Task<SubmitJobResponse> SubmitJobAsync(JobSpec spec, string? idempotencyKey = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(spec);
        return SubmitJobAsync(spec.ToJson(), idempotencyKey, cancellationToken);
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

    /// <summary>
    /// Lists jobs, newest first, optionally by status, dataset and creation time (<paramref name="createdAfter"/>
    /// inclusive, <paramref name="createdBefore"/> exclusive; a start later than the end is
    /// <see cref="StatusCode.InvalidArgument"/> naming <c>createdBefore</c>).
    /// </summary>
    public async Task<ListJobsResponse> ListJobsAsync(
        JobStatus status = JobStatus.Unspecified, Guid? datasetId = null, int offset = 0, int limit = 50,
        DateTimeOffset? createdAfter = null, DateTimeOffset? createdBefore = null, CancellationToken cancellationToken = default) =>
        await _jobs.ListJobsAsync(new ListJobsRequest
        {
            Status = status,
            DatasetId = datasetId?.ToString() ?? "",
            Offset = offset,
            Limit = limit,
            CreatedAfter = ToTimestamp(createdAfter),
            CreatedBefore = ToTimestamp(createdBefore),
        }, cancellationToken: cancellationToken);

    /// <summary>Lists jobs, newest first, by status and dataset (the 1.0 signature; see the overload with a creation-time window).</summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    public Task<ListJobsResponse> ListJobsAsync(JobStatus status, Guid? datasetId, int offset, int limit, CancellationToken cancellationToken) =>
        ListJobsAsync(status, datasetId, offset, limit, null, null, cancellationToken);

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

    /// <summary>
    /// Lists runs, newest first, optionally by job, status, dataset (runs of jobs on <paramref name="datasetId"/>) and
    /// start time (<paramref name="startedAfter"/> inclusive, <paramref name="startedBefore"/> exclusive; a start later
    /// than the end is <see cref="StatusCode.InvalidArgument"/> naming <c>startedBefore</c>).
    /// </summary>
    public async Task<ListRunsResponse> ListRunsAsync(
        Guid? jobId = null, RunStatus status = RunStatus.Unspecified, int offset = 0, int limit = 50, Guid? datasetId = null,
        DateTimeOffset? startedAfter = null, DateTimeOffset? startedBefore = null, CancellationToken cancellationToken = default) =>
        await _runs.ListRunsAsync(new ListRunsRequest
        {
            JobId = jobId?.ToString() ?? "",
            Status = status,
            Offset = offset,
            Limit = limit,
            DatasetId = datasetId?.ToString() ?? "",
            StartedAfter = ToTimestamp(startedAfter),
            StartedBefore = ToTimestamp(startedBefore),
        }, cancellationToken: cancellationToken);

    /// <summary>Lists runs, newest first, by job and status (the 1.0 signature; see the overload with dataset and start-time filters).</summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    public Task<ListRunsResponse> ListRunsAsync(Guid? jobId, RunStatus status, int offset, int limit, CancellationToken cancellationToken) =>
        ListRunsAsync(jobId, status, offset, limit, null, null, null, cancellationToken);

    /// <summary>Gets a run's accuracy-versus-rank curve (empty until the run has finished).</summary>
    public async Task<Curve> GetCurveAsync(Guid runId, CancellationToken cancellationToken = default) =>
        await _runs.GetCurveAsync(new GetCurveRequest { RunId = runId.ToString() }, cancellationToken: cancellationToken);

    // ------------------------------------------------------------------------------------------ variants

    /// <summary>
    /// A finished run's variants per device: the accuracy-latency Pareto frontier (fastest first) and every
    /// variant. Without <paramref name="device"/>, every device with measurements of the run.
    /// </summary>
    public async Task<ListVariantsResponse> ListVariantsAsync(
        Guid runId, string? device = null, int batch = 1, CancellationToken cancellationToken = default) =>
        await _variants.ListVariantsAsync(new ListVariantsRequest { RunId = runId.ToString(), Device = device ?? "", Batch = batch },
            cancellationToken: cancellationToken);

    /// <summary>
    /// The most accurate variant whose latency on <paramref name="device"/> fits <paramref name="latencyBudgetMs"/>
    /// (ties: fewer parameters). When none fits, <see cref="RpcException"/> with <see cref="StatusCode.OutOfRange"/>;
    /// <see cref="RpcExceptionExtensions.FastestLatencyMs"/> reads the fastest variant's latency from it.
    /// </summary>
    public async Task<VariantSelection> SelectVariantAsync(
        Guid runId, string device, double latencyBudgetMs, int batch = 1, CancellationToken cancellationToken = default) =>
        await _variants.SelectVariantAsync(new SelectVariantRequest
        {
            RunId = runId.ToString(),
            Device = device,
            LatencyBudgetMs = latencyBudgetMs,
            Batch = batch,
        }, cancellationToken: cancellationToken);

    /// <summary>
    /// Downloads a variant into <paramref name="destination"/> (written from its current position) and checks
    /// the bytes against the SHA-256 and size the service sends last.
    /// </summary>
    /// <returns>The file's checksum, size and suggested name.</returns>
    /// <exception cref="InvalidDataException">The bytes received do not match the checksum or size (the destination then holds them anyway).</exception>
    public async Task<VariantFileSummary> FetchVariantAsync(
        Guid runId, double rankFraction, Stream destination, VariantFormat format = VariantFormat.Onnx, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(destination);
        using var sha256 = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        long received = 0;
        var request = new FetchVariantRequest { RunId = runId.ToString(), RankFraction = rankFraction, Format = format };
        using AsyncServerStreamingCall<VariantChunk> call = _variants.FetchVariant(request, cancellationToken: cancellationToken);
        await foreach (VariantChunk chunk in call.ResponseStream.ReadAllAsync(cancellationToken))
        {
            switch (chunk.ContentCase)
            {
                case VariantChunk.ContentOneofCase.Data:
                    sha256.AppendData(chunk.Data.Span);
                    await destination.WriteAsync(chunk.Data.Memory, cancellationToken);
                    received += chunk.Data.Length;
                    break;
                case VariantChunk.ContentOneofCase.Summary:
                    string actual = Convert.ToHexStringLower(sha256.GetHashAndReset());
                    if (received != chunk.Summary.SizeBytes || !string.Equals(actual, chunk.Summary.Sha256, StringComparison.OrdinalIgnoreCase))
                    {
                        throw new InvalidDataException(
                            $"The variant at rank fraction {rankFraction} of run {runId} arrived corrupted: {received} bytes with SHA-256 {actual}, " +
                            $"expected {chunk.Summary.SizeBytes} bytes with {chunk.Summary.Sha256}.");
                    }
                    return chunk.Summary;
            }
        }
        throw new InvalidDataException($"The download of the variant at rank fraction {rankFraction} of run {runId} ended without its checksum.");
    }

    /// <summary>
    /// Downloads a variant to the file <paramref name="path"/>, verified as <see cref="FetchVariantAsync(Guid, double, Stream, VariantFormat, CancellationToken)"/>
    /// does. The file appears only once verified (written next to it first, then moved over it).
    /// </summary>
    public async Task<VariantFileSummary> FetchVariantAsync(
        Guid runId, double rankFraction, string path, VariantFormat format = VariantFormat.Onnx, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string partial = path + ".part";
        try
        {
            VariantFileSummary summary;
            await using (FileStream file = File.Create(partial))
            {
                summary = await FetchVariantAsync(runId, rankFraction, file, format, cancellationToken);
            }
            File.Move(partial, path, overwrite: true);
            return summary;
        }
        finally
        {
            File.Delete(partial);
        }
    }

    // ------------------------------------------------------------------------------------------- devices

    /// <summary>Lists device profiles by name: built-in hosts and users' own devices.</summary>
    public async Task<IReadOnlyList<Device>> ListDevicesAsync(CancellationToken cancellationToken = default) =>
        (await _devices.ListDevicesAsync(new ListDevicesRequest(), cancellationToken: cancellationToken)).Items;

    /// <summary>Gets a device profile (<see cref="StatusCode.NotFound"/> when there is none of that name).</summary>
    public async Task<Device> GetDeviceAsync(string name, CancellationToken cancellationToken = default) =>
        await _devices.GetDeviceAsync(new GetDeviceRequest { Name = name }, cancellationToken: cancellationToken);

    /// <summary>Registers a device profile; a taken name is <see cref="StatusCode.AlreadyExists"/>. Not retried.</summary>
    public async Task<Device> CreateDeviceAsync(CreateDeviceRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        return await _devices.CreateDeviceAsync(request, cancellationToken: cancellationToken);
    }

    /// <summary>
    /// Stores latencies of a finished run's variants measured on a device, replacing earlier values for the same
    /// (rank fraction, batch); safe to repeat.
    /// </summary>
    public async Task<PostLatenciesResponse> PostLatenciesAsync(
        string device, Guid runId, IEnumerable<LatencyMeasurement> measurements, string? runtime = null, int? threads = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(measurements);
        var request = new PostLatenciesRequest { Device = device, RunId = runId.ToString() };
        request.Measurements.AddRange(measurements);
        if (runtime is not null)
        {
            request.Runtime = runtime;
        }
        if (threads is int t)
        {
            request.Threads = t;
        }
        return await _devices.PostLatenciesAsync(request, cancellationToken: cancellationToken);
    }

    // ------------------------------------------------------------------------------------------- workers

    /// <summary>
    /// Lists the live training workers, oldest first: host, devices, torch versions, slots, current jobs and last
    /// heartbeat. Needs a TenantAdmin or ServiceAdmin key (<see cref="StatusCode.PermissionDenied"/> otherwise); a current job's
    /// <see cref="WorkerJob.JobId"/> is set only for the caller's own tenant's jobs.
    /// </summary>
    public async Task<IReadOnlyList<WorkerInfo>> ListWorkersAsync(CancellationToken cancellationToken = default) =>
        (await _workers.ListWorkersAsync(new ListWorkersRequest(), cancellationToken: cancellationToken)).Items;

    /// <summary>
    /// Profiles a finished run on the machine this client runs on, like Once-for-All's per-device latency
    /// lookup tables but stored by the service: creates the device profile <paramref name="deviceName"/> if it is
    /// missing (describing this machine's CPU), downloads every ONNX variant of the run (all curve points), times
    /// each with ONNX Runtime (warm-up, then median and p90 at each of <see cref="ProfileOptions.Batches"/>) and
    /// posts the table to the profile. Selection on that device then uses these measurements.
    /// </summary>
    /// <exception cref="InvalidOperationException">The run has not succeeded, so it has no variants.</exception>
    public async Task<LatencyTable> ProfileAsync(Guid runId, string deviceName, ProfileOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new ProfileOptions();
        if (options.Batches.Count == 0 || options.Batches.Any(b => b < 1) || options.Runs < 1 || options.WarmupRuns < 0 || options.IntraOpThreads < 0)
        {
            throw new ArgumentException("Batches must be positive and non-empty, Runs at least 1, WarmupRuns and IntraOpThreads non-negative.", nameof(options));
        }
        await EnsureDeviceAsync(deviceName, options, cancellationToken);
        Curve curve = await GetCurveAsync(runId, cancellationToken);
        if (curve.Status != RunStatus.Succeeded || curve.Points.Count == 0)
        {
            throw new InvalidOperationException($"Run {runId} is {curve.Status}; only a succeeded run has variants to profile.");
        }
        var timings = new List<VariantTiming>();
        foreach (CurvePoint point in curve.Points.OrderBy(p => p.RankFraction))
        {
            using var model = new MemoryStream();
            await FetchVariantAsync(runId, point.RankFraction, model, VariantFormat.Onnx, cancellationToken);
            byte[] bytes = model.ToArray();
            timings.AddRange(await Task.Run(() => OnnxTimer.Time(bytes, point.RankFraction, options, cancellationToken), cancellationToken));
        }
        await PostLatenciesAsync(deviceName, runId, timings.Select(t => new LatencyMeasurement
        {
            RankFraction = t.RankFraction,
            Batch = t.Batch,
            MedianMs = t.MedianMs,
            P90Ms = t.P90Ms,
            Runs = t.Runs,
        }), options.Runtime, options.IntraOpThreads, cancellationToken);
        return new LatencyTable(deviceName, runId, options.Runtime, options.IntraOpThreads, timings);
    }

    private async Task EnsureDeviceAsync(string deviceName, ProfileOptions options, CancellationToken cancellationToken)
    {
        try
        {
            await GetDeviceAsync(deviceName, cancellationToken);
            return;
        }
        catch (RpcException ex) when (ex.StatusCode == StatusCode.NotFound)
        {
        }
        try
        {
            await CreateDeviceAsync(OnnxTimer.DescribeMachine(deviceName, options.DeviceDescription), cancellationToken);
        }
        catch (RpcException ex) when (ex.StatusCode == StatusCode.AlreadyExists)
        {
            // Another profiler created it meanwhile: the same outcome.
        }
    }

    private static Timestamp? ToTimestamp(DateTimeOffset? value) => value is { } v ? Timestamp.FromDateTimeOffset(v) : null;

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

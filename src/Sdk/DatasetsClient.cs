namespace TrainingService.Sdk;

/// <summary>
/// Datasets over <c>training.v1.DatasetService</c> (<see cref="TrainingClient.Datasets"/>): uploads of IDX files, IDX
/// archives, CSV tables, image-folder ZIPs and local image folders, gets and lists. Gets and lists are retried on
/// <see cref="StatusCode.Unavailable"/>; uploads are not.
/// </summary>
public sealed class DatasetsClient
{
    private readonly ClientContext _context;
    private readonly DatasetService.DatasetServiceClient _datasets;

    internal DatasetsClient(ClientContext context)
    {
        _context = context;
        _datasets = new DatasetService.DatasetServiceClient(context.Invoker);
    }

    /// <summary>
    /// Streams an IDX dataset to the service in chunks; it is validated as a whole and stored only if every
    /// file is valid. <paramref name="progress"/> hears about every chunk sent.
    /// </summary>
    public async Task<Dataset> UploadIdxAsync(
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
    public async Task<Dataset> UploadIdxAsync(
        string name, string folder, IProgress<UploadProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        using DatasetFiles files = DatasetFiles.FromIdxFolder(folder);
        return await UploadIdxAsync(name, files, progress, cancellationToken);
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
    public async Task<Dataset> UploadCsvAsync(
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

    /// <summary>Uploads the CSV file <paramref name="dataPath"/> (and the test table <paramref name="testDataPath"/>), raw or <c>.gz</c>; see <see cref="UploadCsvAsync(string, Stream, Stream?, CsvUploadOptions?, IProgress{UploadProgress}?, CancellationToken)"/>.</summary>
    public async Task<Dataset> UploadCsvAsync(
        string name, string dataPath, string? testDataPath = null, CsvUploadOptions? options = null,
        IProgress<UploadProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(dataPath);
        await using FileStream data = File.OpenRead(dataPath);
        await using FileStream? testData = testDataPath is null ? null : File.OpenRead(testDataPath);
        return await UploadCsvAsync(name, data, testData, options, progress, cancellationToken);
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
        int chunkSize = Math.Clamp(_context.Options.UploadChunkSize, 1024, 4 << 20) - 1024;
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
    public async Task<Dataset> GetAsync(Guid id, CancellationToken cancellationToken = default) =>
        await _datasets.GetDatasetAsync(new GetDatasetRequest { Id = id.ToString() }, cancellationToken: cancellationToken);

    /// <summary>
    /// Lists datasets, newest first; with <paramref name="createdAfter"/> and <paramref name="createdBefore"/> only those
    /// created in that window (start inclusive, end exclusive; either may be left open). A start later than the end
    /// is <see cref="StatusCode.InvalidArgument"/> naming <c>createdBefore</c>.
    /// </summary>
    public async Task<ListDatasetsResponse> ListAsync(
        int offset = 0, int limit = 50, DateTimeOffset? createdAfter = null, DateTimeOffset? createdBefore = null,
        CancellationToken cancellationToken = default) =>
        await _datasets.ListDatasetsAsync(new ListDatasetsRequest
        {
            Offset = offset,
            Limit = limit,
            CreatedAfter = ClientContext.ToTimestamp(createdAfter),
            CreatedBefore = ClientContext.ToTimestamp(createdBefore),
        }, cancellationToken: cancellationToken);
}

using System.IO.Compression;
using System.Security.Cryptography;
using Infrastructure.Artifacts;
using Api.Auth;
using Api.Extensions;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace Api.Datasets;

/// <summary>
/// Stores a dataset upload (<see cref="DatasetFormats"/>: IDX, or CSV and image-folder ZIP converted at upload into
/// the same IDX layout by <see cref="CsvDataset"/> and <see cref="ImageFolderConverter"/>): the files are streamed into the artifact store's staging area (gzip is decoded at
/// commit), validated as a whole, then recorded with the dataset in one transaction. Multipart REST
/// (<see cref="CreateAsync"/>) and the gRPC client stream (<see cref="Begin"/>, <see cref="DatasetUpload.AppendAsync(string, ReadOnlyMemory{byte}, CancellationToken)"/>,
/// <see cref="CommitAsync"/>) share this path. Any failure deletes what was staged: no rows and no files are left behind.
/// Content is bounded by <see cref="DatasetLimitsOptions"/>. An upload whose decoded content has the same
/// <see cref="Dataset.ContentHash"/> as a dataset of the same tenant stores nothing and returns that dataset
/// (<see cref="UploadedDataset.Deduplicated"/>). A new dataset gets per-class sample counts and a
/// <see cref="SampleGrid"/> preview (<c>samples.png</c>, an artifact of kind <see cref="ArtifactKinds.DatasetSamples"/>).
/// </summary>
public sealed class DatasetUploadService(
    AppDbContext db, IArtifactStore store, TimeProvider clock, IOptions<ApiOptions> options, IOptions<DatasetLimitsOptions> limitOptions, CurrentTenant tenant)
{
    public const int MaxNameLength = 200;

    /// <summary>The file fields of an upload, in the order they are stored.</summary>
    public static readonly IReadOnlyList<string> FileFields = ["images", "labels", "testImages", "testLabels", "data", "testData", "archive"];

    /// <summary>Text fields a format reads besides <c>name</c> and <c>format</c>: csv, then zip.</summary>
    public static readonly IReadOnlyList<string> FormatOptions = ["labelColumn", "hasHeader", "width", "height", "channels"];

    /// <summary>The file fields each format accepts; csv and zip are converted to the IDX layout at upload.</summary>
    private static readonly Dictionary<string, string[]> s_formatFiles = new()
    {
        [DatasetFormats.Idx] = ["images", "labels", "testImages", "testLabels"],
        [DatasetFormats.Csv] = ["data", "testData"],
        [DatasetFormats.Zip] = ["archive"],
    };

    /// <summary>Starts an upload; dispose it to delete whatever was staged and not committed.</summary>
    public DatasetUpload Begin() => new(store, options.Value, limitOptions.Value.MaxDecodedBytes);

    private DatasetLimitsOptions Limits => limitOptions.Value;

    public async Task<UploadedDataset> CreateAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        string? boundary = request.HasFormContentType && MediaTypeHeaderValue.TryParse(request.ContentType, out var mediaType)
            ? HeaderUtilities.RemoveQuotes(mediaType.Boundary).Value
            : null;
        if (string.IsNullOrEmpty(boundary))
        {
            throw new DomainValidationException("body", "must be multipart/form-data with fields 'name', 'format' and files 'images' and 'labels'.");
        }

        using DatasetUpload upload = Begin();
        var reader = new MultipartReader(boundary, request.Body);
        while (await ReadMultipartAsync(() => reader.ReadNextSectionAsync(cancellationToken)) is { } section)
        {
            if (!ContentDispositionHeaderValue.TryParse(section.ContentDisposition, out var disposition)
                || !(disposition.IsFormDisposition() || disposition.IsFileDisposition()))
            {
                throw new DomainValidationException("body", "has a part without a form-data Content-Disposition.");
            }
            string field = HeaderUtilities.RemoveQuotes(disposition.Name).Value ?? "";
            if (disposition.IsFileDisposition())
            {
                if (!FileFields.Contains(field))
                {
                    throw new DomainValidationException(field, $"is not an expected file; send {string.Join(", ", FileFields)}.");
                }
                if (upload.HasFile(field))
                {
                    throw new DomainValidationException(field, "was sent more than once.");
                }
                byte[] buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(1 << 16);
                try
                {
                    int read;
                    do // at least once, so an empty file is staged (and refused as empty, not as missing)
                    {
                        read = await ReadMultipartAsync(() => section.Body.ReadAsync(buffer, cancellationToken).AsTask());
                        await upload.AppendAsync(field, buffer.AsMemory(0, read), cancellationToken);
                    }
                    while (read > 0);
                }
                finally
                {
                    System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
                }
            }
            else
            {
                upload.AddField(field, await ReadMultipartAsync(() => ReadFieldAsync(upload, field, section.Body, cancellationToken)));
            }
        }
        return await CommitAsync(upload, cancellationToken);
    }

    /// <summary>
    /// A text field's value, read only as far as <see cref="ApiOptions.MaxFormFieldLength"/> allows: a longer field is refused
    /// before the rest of it is buffered (400 naming the field and the setting). Checks <see cref="ApiOptions.MaxFormFields"/> first.
    /// </summary>
    private static async Task<string> ReadFieldAsync(DatasetUpload upload, string field, Stream body, CancellationToken cancellationToken)
    {
        upload.CheckFieldCount();
        byte[] buffer = new byte[Math.Min(upload.MaxFieldLength + 1, 1 << 16)];
        using var value = new MemoryStream();
        int read;
        while ((read = await body.ReadAsync(buffer, cancellationToken)) > 0)
        {
            value.Write(buffer, 0, read);
            if (value.Length > upload.MaxFieldLength)
            {
                throw new DomainValidationException(field,
                    $"is longer than {upload.MaxFieldLength} bytes; the limit is {upload.MaxFieldLength} ({ApiOptions.SectionName}:{nameof(ApiOptions.MaxFormFieldLength)}).");
            }
        }
        return new StreamReader(new MemoryStream(value.GetBuffer(), 0, (int)value.Length), detectEncodingFromByteOrderMarks: true).ReadToEnd();
    }

    /// <summary>
    /// One read from the multipart body. <see cref="MultipartReader"/> throws a plain <see cref="IOException"/> when the
    /// body ends before the closing boundary: that is the client's malformed request (400 naming <c>body</c>). Only
    /// reads are wrapped, so a failing write to the staging area stays a server error (507 on a full disk); a body over Kestrel's size limit
    /// (<see cref="BadHttpRequestException"/>, also an <see cref="IOException"/>) keeps its own status.
    /// </summary>
    private static async Task<T> ReadMultipartAsync<T>(Func<Task<T>> read)
    {
        try
        {
            return await read();
        }
        catch (IOException ex) when (ex is not BadHttpRequestException)
        {
            throw new DomainValidationException("body", "ends before its closing multipart boundary: the request body is truncated.");
        }
    }

    /// <summary>
    /// Decodes, validates and stores a complete upload, or returns the tenant's dataset with the same content;
    /// throws <see cref="DomainValidationException"/> naming every bad field.
    /// </summary>
    public async Task<UploadedDataset> CommitAsync(DatasetUpload upload, CancellationToken cancellationToken)
    {
        IReadOnlyDictionary<string, string> fields = upload.Fields;
        string format = fields.GetValueOrDefault("format")?.Trim().ToLowerInvariant() ?? DatasetFormats.Idx;
        if (format == DatasetFormats.Idx && upload.HasFile("archive"))
        {
            await upload.ExpandIdxArchiveAsync(Limits, cancellationToken);
        }
        Dictionary<string, StagedFile> files = await upload.DecodeAsync(cancellationToken);
        IReadOnlyList<string>? classNames = null;
        if (format is DatasetFormats.Csv or DatasetFormats.Zip)
        {
            var rules = new Rules();
            CheckName(rules, fields);
            foreach (string field in files.Keys.Where(f => !s_formatFiles[format].Contains(f)))
            {
                rules.Add(field, $"is not a file of format '{format}'; send {string.Join(", ", s_formatFiles[format])}.");
            }
            string required = format == DatasetFormats.Csv ? "data" : "archive";
            if (!files.ContainsKey(required))
            {
                rules.Add(required, format == DatasetFormats.Csv ? "is required (a CSV file: feature columns and one label column)." : "is required (a ZIP of one image folder per class).");
            }
            rules.ThrowIfInvalid();
            (files, classNames) = format == DatasetFormats.Csv ? ConvertCsv(upload, files, cancellationToken) : ConvertZip(upload, files, cancellationToken);
        }
        return await SaveAsync(fields, files, classNames, cancellationToken);
    }

    private (Dictionary<string, StagedFile> Files, IReadOnlyList<string>? ClassNames) ConvertCsv(
        DatasetUpload upload, Dictionary<string, StagedFile> files, CancellationToken cancellationToken)
    {
        bool? hasHeader = null;
        if (upload.Fields.GetValueOrDefault("hasHeader")?.Trim() is { Length: > 0 } text)
        {
            hasHeader = bool.TryParse(text, out bool value) ? value
                : throw new DomainValidationException("hasHeader", $"must be true or false (was '{text}').");
        }
        var options = new CsvOptions(upload.Fields.GetValueOrDefault("labelColumn")?.Trim(), hasHeader);
        static Func<TextReader> Open(StagedFile file) =>
            () => new StreamReader(new FileStream(file.TempPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite), detectEncodingFromByteOrderMarks: true);
        var converted = new Dictionary<string, StagedFile>(StringComparer.Ordinal)
        {
            ["images"] = upload.StageConverted(),
            ["labels"] = upload.StageConverted(),
        };
        bool hasTest = files.TryGetValue("testData", out StagedFile? testData);
        if (hasTest)
        {
            converted["testImages"] = upload.StageConverted();
            converted["testLabels"] = upload.StageConverted();
        }
        CsvConversion conversion = CsvDataset.Convert(Open(files["data"]), hasTest ? Open(testData!) : null, options, Limits,
            converted["images"].Stream, converted["labels"].Stream,
            hasTest ? converted["testImages"].Stream : null, hasTest ? converted["testLabels"].Stream : null, cancellationToken);
        return (Flush(converted), conversion.ClassNames);
    }

    private (Dictionary<string, StagedFile> Files, IReadOnlyList<string>? ClassNames) ConvertZip(
        DatasetUpload upload, Dictionary<string, StagedFile> files, CancellationToken cancellationToken)
    {
        (int width, int height, int channels) = ImageFolderConverter.ReadOptions(upload.Fields, Limits);
        var converted = new Dictionary<string, StagedFile>(StringComparer.Ordinal)
        {
            ["images"] = upload.StageConverted(),
            ["labels"] = upload.StageConverted(),
        };
        ImageFolderConverter.Result result = ImageFolderConverter.Convert(files["archive"].TempPath, width, height, channels, Limits,
            converted["images"].Stream, converted["labels"].Stream, () =>
            {
                converted["testImages"] = upload.StageConverted();
                converted["testLabels"] = upload.StageConverted();
                return (converted["testImages"].Stream, converted["testLabels"].Stream);
            }, cancellationToken);
        return (Flush(converted), result.ClassNames);
    }

    private static Dictionary<string, StagedFile> Flush(Dictionary<string, StagedFile> files)
    {
        foreach (StagedFile file in files.Values)
        {
            file.Stream.Flush();
        }
        return files;
    }

    private static string CheckName(Rules rules, IReadOnlyDictionary<string, string> fields)
    {
        string name = fields.GetValueOrDefault("name")?.Trim() ?? "";
        if (name.Length == 0)
        {
            rules.Add("name", "is required.");
        }
        else if (name.Length > MaxNameLength)
        {
            rules.Add("name", $"must be at most {MaxNameLength} characters (was {name.Length}).");
        }
        return name;
    }

    private async Task<UploadedDataset> SaveAsync(
        IReadOnlyDictionary<string, string> fields, Dictionary<string, StagedFile> files, IReadOnlyList<string>? classNames, CancellationToken cancellationToken)
    {
        var rules = new Rules();
        string name = CheckName(rules, fields);
        string format = fields.GetValueOrDefault("format")?.Trim().ToLowerInvariant() ?? DatasetFormats.Idx;
        rules.OneOf("format", format, DatasetFormats.All);
        foreach (string field in files.Keys.Where(f => format == DatasetFormats.Idx && !s_formatFiles[DatasetFormats.Idx].Contains(f)))
        {
            rules.Add(field, $"is not a file of format 'idx'; send {string.Join(", ", s_formatFiles[DatasetFormats.Idx])}.");
        }
        foreach (string required in new[] { "images", "labels" })
        {
            if (!files.ContainsKey(required))
            {
                rules.Add(required, "is required (an IDX file, raw or gzip).");
            }
        }
        if (files.ContainsKey("testImages") != files.ContainsKey("testLabels"))
        {
            rules.Add(files.ContainsKey("testImages") ? "testLabels" : "testImages", "is required when the other test file is sent.");
        }
        rules.ThrowIfInvalid();

        IdxSplit train = ReadSplit(files["images"], files["labels"], "images", "labels", Limits);
        IdxSplit? test = files.TryGetValue("testImages", out StagedFile? testImages)
            ? ReadSplit(testImages, files["testLabels"], "testImages", "testLabels", Limits)
            : null;
        int classes = train.MaxLabel + 1;
        if (train.DistinctLabels < 2)
        {
            rules.Add("labels", "must contain at least two classes.");
        }
        if (classes > Limits.MaxClasses)
        {
            rules.Add("labels", $"has labels up to {train.MaxLabel}, that is {classes} classes; {DatasetLimitsOptions.Describe(Limits.MaxClasses, nameof(Limits.MaxClasses))}.");
        }
        if (test is not null)
        {
            if (!test.Shape.SequenceEqual(train.Shape))
            {
                rules.Add("testImages", $"has samples of shape [{string.Join(", ", test.Shape)}]; the training images are [{string.Join(", ", train.Shape)}].");
            }
            if (test.MaxLabel >= classes)
            {
                rules.Add("testLabels", $"contains label {test.MaxLabel}, but the training labels only have classes 0..{classes - 1}.");
            }
        }
        rules.ThrowIfInvalid();

        var layout = new (string Field, string FileName)[]
        {
            ("images", DatasetLayout.TrainImages), ("labels", DatasetLayout.TrainLabels),
            ("testImages", DatasetLayout.TestImages), ("testLabels", DatasetLayout.TestLabels),
        };
        // sha256 over the decoded files' sha256s in layout order: gzip and raw uploads of the same data agree.
        using var contentHash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach ((string field, _) in layout.Where(l => files.ContainsKey(l.Field)))
        {
            contentHash.AppendData(Convert.FromHexString(files[field].CurrentSha256()));
        }
        string hash = Convert.ToHexStringLower(contentHash.GetHashAndReset());
        // The tenant filter already applies; the explicit condition keeps a missing filter from crossing tenants.
        // Two identical uploads racing may both be stored: a duplicate costs space, never correctness.
        Dataset? existing = await db.Datasets.AsNoTracking()
            .Where(d => d.TenantId == tenant.Id && d.ContentHash == hash)
            .OrderBy(d => d.CreatedAt).ThenBy(d => d.Id)
            .FirstOrDefaultAsync(cancellationToken);
        if (existing is not null)
        {
            return new UploadedDataset(existing, Deduplicated: true);
        }

        var dataset = new Dataset
        {
            Id = Guid.CreateVersion7(),
            TenantId = tenant.Id,
            Name = name,
            Format = format,
            Shape = train.Shape,
            Classes = classes,
            ClassCounts = train.ClassCounts[..classes],
            TestClassCounts = test is null ? [] : test.ClassCounts[..classes],
            Samples = train.Count,
            TestSamples = test?.Count ?? 0,
            ContentHash = hash,
            ArtifactPath = "",
            CreatedAt = clock.GetUtcNow().UtcDateTime,
        };
        dataset.ArtifactPath = $"datasets/{dataset.Id:N}";
        byte[] samples;
        using (var images = new FileStream(files["images"].TempPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite))
        {
            samples = SampleGrid.Render(images, train.Labels, classes, classNames);
        }
        try
        {
            foreach ((string field, string fileName) in layout.Where(l => files.ContainsKey(l.Field)))
            {
                StoredFile stored = files[field].Commit($"{dataset.ArtifactPath}/{fileName}");
                dataset.SizeBytes += stored.SizeBytes;
                db.Artifacts.Add(stored.ToArtifact(ArtifactKinds.DatasetFile, dataset.CreatedAt, datasetId: dataset.Id));
            }
            using (StagedFile preview = store.Stage())
            {
                preview.Stream.Write(samples);
                StoredFile stored = preview.Commit($"{dataset.ArtifactPath}/{SampleGrid.FileName}");
                db.Artifacts.Add(stored.ToArtifact(ArtifactKinds.DatasetSamples, dataset.CreatedAt, datasetId: dataset.Id));
            }
            db.Datasets.Add(dataset);
            await db.SaveChangesAsync(cancellationToken);
            return new UploadedDataset(dataset, Deduplicated: false);
        }
        catch
        {
            store.DeleteDirectory(dataset.ArtifactPath);
            throw;
        }
    }

    /// <summary>A validated split; <see cref="ClassCounts"/> has one entry per possible label byte (256).</summary>
    private sealed record IdxSplit(int Count, int[] Shape, byte[] Labels, int[] ClassCounts)
    {
        public int MaxLabel => Array.FindLastIndex(ClassCounts, c => c > 0);

        public int DistinctLabels => ClassCounts.Count(c => c > 0);
    }

    /// <summary>Checks headers, exact lengths, the sample limit and the image/label count match; reads the labels for the class counts.</summary>
    private static IdxSplit ReadSplit(StagedFile images, StagedFile labels, string imagesField, string labelsField, DatasetLimitsOptions limits)
    {
        var rules = new Rules();
        IdxHeader imageHeader;
        using (var stream = new FileStream(images.TempPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite))
        {
            imageHeader = Idx.ReadHeader(stream, imagesField);
            CheckLength(rules, imagesField, imageHeader, stream.Length);
            if (imageHeader.Dimensions.Length < 2)
            {
                rules.Add(imagesField, "must have at least 2 dimensions (samples × features).");
            }
            if (imageHeader.Count > limits.MaxSamples)
            {
                rules.Add(imagesField, $"has {imageHeader.Count} samples; {DatasetLimitsOptions.Describe(limits.MaxSamples, nameof(limits.MaxSamples))}.");
            }
        }
        using var labelStream = new FileStream(labels.TempPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        IdxHeader labelHeader = Idx.ReadHeader(labelStream, labelsField);
        CheckLength(rules, labelsField, labelHeader, labelStream.Length);
        if (labelHeader.Dimensions.Length != 1)
        {
            rules.Add(labelsField, $"must be a 1-dimensional IDX file (had {labelHeader.Dimensions.Length} dimensions).");
        }
        if (rules.IsValid && labelHeader.Count != imageHeader.Count)
        {
            rules.Add(labelsField, $"has {labelHeader.Count} labels but {imagesField} has {imageHeader.Count} samples.");
        }
        rules.ThrowIfInvalid();

        var counts = new int[256];
        var buffer = new byte[labelHeader.Count];
        labelStream.ReadExactly(buffer);
        foreach (byte label in buffer)
        {
            counts[label]++;
        }
        return new IdxSplit(imageHeader.Count, imageHeader.SampleShape, buffer, counts);
    }

    private static void CheckLength(Rules rules, string field, IdxHeader header, long actual)
    {
        if (actual < header.ExpectedLength)
        {
            rules.Add(field, $"is truncated: its header declares {header.Count} samples of {header.SampleSize} bytes ({header.ExpectedLength} bytes in all) but it has {actual} bytes.");
        }
        else if (actual > header.ExpectedLength)
        {
            rules.Add(field, $"has {actual - header.ExpectedLength} bytes after the {header.Count} samples its header declares.");
        }
    }
}

/// <summary>
/// One upload in progress: form fields and the raw bytes of each file, staged as they arrive (in one piece
/// from multipart, in chunks from gRPC). Disposing it deletes every staged file that was not committed.
/// </summary>
public sealed class DatasetUpload : IDisposable
{
    private readonly IArtifactStore _store;
    private readonly long _maxBytes;
    private readonly int _maxFields;
    private readonly long _maxDecodedBytes;
    private readonly Dictionary<string, StagedFile> _raw = new(StringComparer.Ordinal);
    private readonly List<StagedFile> _decoded = [];
    private long _bytes;
    private int _fieldCount;

    internal DatasetUpload(IArtifactStore store, ApiOptions options, long maxDecodedBytes)
    {
        _store = store;
        _maxBytes = options.MaxUploadBytes;
        _maxFields = options.MaxFormFields;
        MaxFieldLength = options.MaxFormFieldLength;
        _maxDecodedBytes = maxDecodedBytes;
    }

    /// <summary>Text fields (<c>name</c>, <c>format</c>); add them with <see cref="AddField"/>, which applies the limits.</summary>
    public Dictionary<string, string> Fields { get; } = new(StringComparer.Ordinal);

    /// <summary><see cref="ApiOptions.MaxFormFieldLength"/>: UTF-8 bytes of one text field.</summary>
    public int MaxFieldLength { get; }

    /// <summary>Refuses one more text field than <see cref="ApiOptions.MaxFormFields"/> (400 naming <c>body</c>).</summary>
    public void CheckFieldCount()
    {
        if (_fieldCount >= _maxFields)
        {
            throw new DomainValidationException("body",
                $"has more than {_maxFields} text fields; the limit is {_maxFields} ({ApiOptions.SectionName}:{nameof(ApiOptions.MaxFormFields)}).");
        }
    }

    /// <summary>
    /// Sets a text field within <see cref="ApiOptions.MaxFormFields"/> and <see cref="ApiOptions.MaxFormFieldLength"/>;
    /// its bytes count toward <see cref="ApiOptions.MaxUploadBytes"/> with the files (413 beyond it).
    /// </summary>
    public void AddField(string field, string value)
    {
        CheckFieldCount();
        int length = System.Text.Encoding.UTF8.GetByteCount(value);
        if (length > MaxFieldLength)
        {
            throw new DomainValidationException(field,
                $"is longer than {MaxFieldLength} bytes; the limit is {MaxFieldLength} ({ApiOptions.SectionName}:{nameof(ApiOptions.MaxFormFieldLength)}).");
        }
        Count(length);
        _fieldCount++;
        Fields[field] = value;
    }

    private void Count(long bytes)
    {
        _bytes += bytes;
        if (_bytes > _maxBytes)
        {
            throw new BadHttpRequestException(
                $"The upload exceeds {_maxBytes} bytes (files and text fields); the limit is {ApiOptions.SectionName}:{nameof(ApiOptions.MaxUploadBytes)}.",
                StatusCodes.Status413PayloadTooLarge);
        }
    }

    public bool HasFile(string field) => _raw.ContainsKey(field);

    /// <summary>A new staged file for output converted from the upload (csv, zip); deleted with the upload unless committed.</summary>
    internal StagedFile StageConverted()
    {
        StagedFile file = _store.Stage();
        _decoded.Add(file);
        return file;
    }

    /// <summary>Appends bytes to a file (one of <see cref="DatasetUploadService.FileFields"/>).</summary>
    /// <exception cref="BadHttpRequestException">413: the upload exceeds <see cref="ApiOptions.MaxUploadBytes"/>.</exception>
    public async Task AppendAsync(string field, ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        Infrastructure.Observability.ServiceTelemetry.UploadSize.Add(data.Length);
        Count(data.Length);
        if (!_raw.TryGetValue(field, out StagedFile? file))
        {
            _raw[field] = file = _store.Stage();
        }
        await file.Stream.WriteAsync(data, cancellationToken);
    }

    /// <summary>IDX file names in an archive (MNIST's, or test-* for the test split) and the fields they stand for.</summary>
    private static readonly (string Prefix, string Field)[] s_idxArchiveNames =
    [
        ("train-images", "images"), ("train-labels", "labels"),
        ("t10k-images", "testImages"), ("t10k-labels", "testLabels"),
        ("test-images", "testImages"), ("test-labels", "testLabels"),
    ];

    /// <summary>
    /// An IDX dataset sent as one ZIP (<c>archive</c>): its <c>train-images*</c>, <c>train-labels*</c> and optional
    /// <c>t10k-*</c>/<c>test-*</c> files (raw or gzip, in any folder) become the <c>images</c>, <c>labels</c>,
    /// <c>testImages</c> and <c>testLabels</c> files, then go through the same checks. Other entries are ignored.
    /// The ZIP limits of image-folder archives apply (entries, ratio, total size).
    /// </summary>
    internal async Task ExpandIdxArchiveAsync(DatasetLimitsOptions limits, CancellationToken cancellationToken)
    {
        if (!_raw.Remove("archive", out StagedFile? archive))
        {
            return;
        }
        _decoded.Add(archive);
        if (_raw.Count > 0)
        {
            throw new DomainValidationException("archive",
                $"comes alone: send the IDX files either inside the archive or as files ({string.Join(", ", _raw.Keys)}), not both.");
        }
        await archive.Stream.FlushAsync(cancellationToken);
        await using var input = new FileStream(archive.TempPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        ZipArchive zip;
        try
        {
            zip = new ZipArchive(input, ZipArchiveMode.Read);
        }
        catch (InvalidDataException)
        {
            throw new DomainValidationException("archive", "is not a ZIP archive (an IDX dataset in one file is a ZIP of train-images, train-labels and optionally t10k-images and t10k-labels, each raw or gzip).");
        }
        using (zip)
        {
            if (zip.Entries.Count > limits.MaxZipEntries)
            {
                throw new DomainValidationException("archive",
                    $"has {zip.Entries.Count} entries; {DatasetLimitsOptions.Describe(limits.MaxZipEntries, nameof(limits.MaxZipEntries))}.");
            }
            var found = new Dictionary<string, ZipArchiveEntry>(StringComparer.Ordinal);
            foreach (ZipArchiveEntry entry in zip.Entries)
            {
                string name = entry.FullName.Replace('\\', '/');
                string fileName = name[(name.LastIndexOf('/') + 1)..];
                if (fileName.Length == 0 || fileName.StartsWith('.') || name.Contains("__MACOSX/", StringComparison.Ordinal))
                {
                    continue;
                }
                string? field = s_idxArchiveNames.FirstOrDefault(n => fileName.StartsWith(n.Prefix, StringComparison.OrdinalIgnoreCase)).Field;
                if (field is null)
                {
                    continue;
                }
                if (!found.TryAdd(field, entry))
                {
                    throw new DomainValidationException("archive", $"holds two {field} files: '{found[field].FullName}' and '{entry.FullName}'.");
                }
            }
            if (found.Count == 0)
            {
                throw new DomainValidationException("archive",
                    "holds no IDX files: expected train-images* and train-labels* (optionally t10k-images*/t10k-labels* or test-images*/test-labels*), raw or gzip.");
            }
            long total = 0;
            byte[] buffer = new byte[81920];
            foreach ((string field, ZipArchiveEntry entry) in found)
            {
                ImageFolderConverter.CheckCompressionRatio(entry, limits);
                StagedFile staged = _store.Stage();
                _raw[field] = staged;
                try
                {
                    await using Stream source = entry.Open();
                    int read;
                    while ((read = await source.ReadAsync(buffer, cancellationToken)) > 0)
                    {
                        // Counted as read, not from the header's sizes, which a crafted archive can understate.
                        total += read;
                        if (total > limits.MaxUncompressedBytes)
                        {
                            throw new DomainValidationException("archive",
                                $"unpacks to more than {limits.MaxUncompressedBytes} bytes ({DatasetLimitsOptions.Key(nameof(limits.MaxUncompressedBytes))}).");
                        }
                        await staged.Stream.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
                    }
                }
                catch (InvalidDataException ex)
                {
                    throw new DomainValidationException("archive", $"entry '{entry.FullName}' cannot be unpacked: {ex.Message}");
                }
            }
        }
    }

    /// <summary>
    /// The decoded files by field: gzip files are decompressed into new staged files, raw ones are used as they are.
    /// A gzip file must end with the trailer of what it decompressed to (<see cref="GzipTrailerCheck"/>): GZipStream
    /// itself reports no truncation.
    /// </summary>
    internal async Task<Dictionary<string, StagedFile>> DecodeAsync(CancellationToken cancellationToken)
    {
        var files = new Dictionary<string, StagedFile>(StringComparer.Ordinal);
        foreach ((string field, StagedFile raw) in _raw)
        {
            await raw.Stream.FlushAsync(cancellationToken);
            await using var input = new FileStream(raw.TempPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            if (!Idx.IsGzip(input))
            {
                files[field] = raw;
                continue;
            }
            StagedFile decoded = _store.Stage();
            _decoded.Add(decoded);
            var trailer = new GzipTrailerCheck();
            try
            {
                await using var gzip = new GZipStream(input, CompressionMode.Decompress, leaveOpen: true);
                await CopyBoundedAsync(field, gzip, decoded.Stream, trailer, cancellationToken);
                await decoded.Stream.FlushAsync(cancellationToken);
            }
            catch (InvalidDataException ex)
            {
                throw new DomainValidationException(field, $"is not valid gzip: {ex.Message}");
            }
            await using (var output = new FileStream(decoded.TempPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite))
            {
                if (!trailer.Matches(input, output))
                {
                    throw new DomainValidationException(field,
                        $"is truncated gzip: it does not end with the CRC-32 and length trailer of the {trailer.Length} bytes it decompresses to (cut short, or bytes after its end).");
                }
            }
            files[field] = decoded;
        }
        return files;
    }

    /// <summary>Copies decompressed bytes, stopping at <see cref="DatasetLimitsOptions.MaxDecodedBytes"/> so a gzip bomb cannot fill the disk.</summary>
    private async Task CopyBoundedAsync(string field, Stream source, Stream target, GzipTrailerCheck trailer, CancellationToken cancellationToken)
    {
        byte[] buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(1 << 16);
        try
        {
            long total = 0;
            int read;
            while ((read = await source.ReadAsync(buffer, cancellationToken)) > 0)
            {
                total += read;
                if (total > _maxDecodedBytes)
                {
                    throw new DomainValidationException(field,
                        $"decompresses to more than {_maxDecodedBytes} bytes; {DatasetLimitsOptions.Describe(_maxDecodedBytes, nameof(DatasetLimitsOptions.MaxDecodedBytes))}.");
                }
                trailer.Append(buffer.AsSpan(0, read));
                await target.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
            }
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    public void Dispose()
    {
        // Each file on its own: one that cannot be deleted must not keep the others.
        List<Exception>? errors = null;
        foreach (StagedFile file in _raw.Values.Concat(_decoded))
        {
            try
            {
                file.Dispose();
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                (errors ??= []).Add(ex);
            }
        }
        if (errors is not null)
        {
            throw new AggregateException("Some staged upload files could not be deleted (the storage sweeper removes them later).", errors);
        }
    }
}

/// <summary>The outcome of an upload: the dataset, and whether it already existed with the same content (nothing was stored).</summary>
public sealed record UploadedDataset(Dataset Dataset, bool Deduplicated);

using System.Security.Cryptography;
using Infrastructure.Artifacts;
using Infrastructure.Datasets;
using Api.Auth;
using Api.Extensions;
using Microsoft.Extensions.Options;
using static Api.Datasets.DatasetValidation;

namespace Api.Datasets;

/// <summary>
/// Stores a dataset upload (<see cref="DatasetFormats"/>: IDX, or CSV and image-folder ZIP converted at upload into the
/// same IDX layout): stage → decode → convert → validate → dedupe → save. Multipart REST (<see cref="CreateAsync"/>,
/// staged by <see cref="MultipartStager"/>) and the gRPC client stream (<see cref="Begin"/>,
/// <see cref="DatasetUpload.AppendAsync(string, ReadOnlyMemory{byte}, CancellationToken)"/>, <see cref="CommitAsync"/>)
/// share this path. The <see cref="IDatasetFormat"/> the upload names (Infrastructure/Datasets) decodes gzip and converts
/// its files into IDX in the artifact store's staging area; <see cref="DatasetValidation"/> checks them as a whole; then
/// they are recorded with the dataset in one transaction. Any failure deletes what was staged: no rows and no files are
/// left behind. Content is bounded by <see cref="DatasetLimitsOptions"/>. An upload whose decoded content has the same
/// <see cref="Dataset.ContentHash"/> as a dataset of the same tenant stores nothing and returns that dataset
/// (<see cref="UploadedDataset.Deduplicated"/>). A new dataset gets per-class sample counts and a
/// <see cref="SampleGrid"/> preview (<c>samples.png</c>, an artifact of kind <see cref="ArtifactKinds.DatasetSamples"/>).
/// </summary>
public sealed class DatasetUploadService(
    AppDbContext db, IArtifactStore store, IEnumerable<IDatasetFormat> formats, TimeProvider clock,
    IOptions<ApiOptions> options, IOptions<DatasetLimitsOptions> limitOptions, CurrentTenant tenant)
{
    public const int MaxNameLength = DatasetValidation.MaxNameLength;

    /// <summary>The file fields of an upload, in the order they are stored.</summary>
    public static readonly IReadOnlyList<string> FileFields = ["images", "labels", "testImages", "testLabels", "data", "testData", "archive"];

    /// <summary>Text fields a format reads besides <c>name</c> and <c>format</c>: csv, then zip.</summary>
    public static IReadOnlyList<string> FormatOptions => DatasetFormatFields.Names;

    /// <summary>The IDX files in the order they are stored, by field.</summary>
    private static readonly (string Field, string FileName)[] s_layout =
    [
        ("images", DatasetLayout.TrainImages), ("labels", DatasetLayout.TrainLabels),
        ("testImages", DatasetLayout.TestImages), ("testLabels", DatasetLayout.TestLabels),
    ];

    /// <summary>Starts an upload; dispose it to delete whatever was staged and not committed.</summary>
    public DatasetUpload Begin() => new(store, options.Value, limitOptions.Value.MaxDecodedBytes);

    private DatasetLimitsOptions Limits => limitOptions.Value;

    public async Task<UploadedDataset> CreateAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        using DatasetUpload upload = Begin();
        await MultipartStager.StageAsync(request, upload, cancellationToken);
        return await CommitAsync(upload, cancellationToken);
    }

    /// <summary>
    /// Decodes, converts, validates and stores a complete upload, or returns the tenant's dataset with the same content;
    /// throws <see cref="DomainValidationException"/> naming every bad field.
    /// </summary>
    public async Task<UploadedDataset> CommitAsync(DatasetUpload upload, CancellationToken cancellationToken)
    {
        IReadOnlyDictionary<string, string> fields = upload.Fields;
        string format = fields.GetValueOrDefault("format")?.Trim().ToLowerInvariant() ?? DatasetFormats.Idx;
        ConvertedDataset converted = await ConvertAsync(upload, format, cancellationToken);
        Result valid = Validate(fields, format, converted.Files, Limits);
        string hash = ContentHash(converted.Files);
        if (await FindDuplicateAsync(hash, cancellationToken) is { } existing)
        {
            return new UploadedDataset(existing, Deduplicated: true);
        }
        return await SaveAsync(valid, format, hash, converted, cancellationToken);
    }

    /// <summary>Decodes and converts the staged files with the <see cref="IDatasetFormat"/> that reads the upload.</summary>
    private async Task<ConvertedDataset> ConvertAsync(DatasetUpload upload, string format, CancellationToken cancellationToken)
    {
        StagedDataset staged = upload.Staged;
        IDatasetFormat? converter = formats.FirstOrDefault(f => f.Handles(format, staged.Files));
        if (converter is null)
        {
            // An unknown format: validation names it, with whatever else is wrong with the decoded files.
            return new ConvertedDataset(await staged.DecodeAsync(cancellationToken));
        }
        if (converter.Converts)
        {
            // Decoded first (a corrupt gzip is reported as such), then the name and files are checked before converting anything.
            await staged.DecodeAsync(cancellationToken);
            var rules = new Rules();
            CheckName(rules, upload.Fields);
            converter.CheckFiles(rules, staged.Files);
            rules.ThrowIfInvalid();
        }
        DatasetFormatOptions formatOptions = DatasetFormatFields.Read(format, upload.Fields, Limits);
        return await converter.ConvertAsync(staged, formatOptions, cancellationToken);
    }

    /// <summary>sha256 over the decoded files' sha256s in layout order: gzip and raw uploads of the same data agree.</summary>
    private static string ContentHash(IReadOnlyDictionary<string, StagedFile> files)
    {
        using var contentHash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach ((string field, _) in s_layout.Where(l => files.ContainsKey(l.Field)))
        {
            contentHash.AppendData(Convert.FromHexString(files[field].CurrentSha256()));
        }
        return Convert.ToHexStringLower(contentHash.GetHashAndReset());
    }

    /// <summary>The tenant's oldest dataset with this content, if any.</summary>
    private Task<Dataset?> FindDuplicateAsync(string hash, CancellationToken cancellationToken) =>
        // The tenant filter already applies; the explicit condition keeps a missing filter from crossing tenants.
        // Two identical uploads racing may both be stored: a duplicate costs space, never correctness.
        db.Datasets.AsNoTracking()
            .Where(d => d.TenantId == tenant.Id && d.ContentHash == hash)
            .OrderBy(d => d.CreatedAt).ThenBy(d => d.Id)
            .FirstOrDefaultAsync(cancellationToken);

    /// <summary>Records a new dataset: its files, its <see cref="SampleGrid"/> preview and their artifact rows, in one transaction.</summary>
    private async Task<UploadedDataset> SaveAsync(Result valid, string format, string hash, ConvertedDataset converted, CancellationToken cancellationToken)
    {
        IReadOnlyDictionary<string, StagedFile> files = converted.Files;
        (string name, IdxSplit train, IdxSplit? test, int classes) = valid;
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
            samples = SampleGrid.Render(images, train.Labels, classes, converted.ClassNames);
        }
        try
        {
            foreach ((string field, string fileName) in s_layout.Where(l => files.ContainsKey(l.Field)))
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
}

/// <summary>The outcome of an upload: the dataset, and whether it already existed with the same content (nothing was stored).</summary>
public sealed record UploadedDataset(Dataset Dataset, bool Deduplicated);

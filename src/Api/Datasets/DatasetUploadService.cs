using System.IO.Compression;
using System.Security.Cryptography;
using Infrastructure.Artifacts;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Net.Http.Headers;

namespace Api.Datasets;

/// <summary>
/// Streams a multipart IDX upload into the artifact store (gzip is decoded on the way), validates every
/// file, then records the dataset and its files in one transaction. Any failure deletes what was staged:
/// no rows and no files are left behind.
/// </summary>
public sealed class DatasetUploadService(AppDbContext db, IArtifactStore store, TimeProvider clock)
{
    public const int MaxNameLength = 200;

    private static readonly string[] s_fileFields = ["images", "labels", "testImages", "testLabels"];

    public async Task<Dataset> CreateAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        string? boundary = request.HasFormContentType && MediaTypeHeaderValue.TryParse(request.ContentType, out var mediaType)
            ? HeaderUtilities.RemoveQuotes(mediaType.Boundary).Value
            : null;
        if (string.IsNullOrEmpty(boundary))
        {
            throw new DomainValidationException("body", "must be multipart/form-data with fields 'name', 'format' and files 'images' and 'labels'.");
        }

        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        var files = new Dictionary<string, StagedFile>(StringComparer.Ordinal);
        try
        {
            var reader = new MultipartReader(boundary, request.Body);
            while (await reader.ReadNextSectionAsync(cancellationToken) is { } section)
            {
                if (!ContentDispositionHeaderValue.TryParse(section.ContentDisposition, out var disposition)
                    || !(disposition.IsFormDisposition() || disposition.IsFileDisposition()))
                {
                    throw new DomainValidationException("body", "has a part without a form-data Content-Disposition.");
                }
                string field = HeaderUtilities.RemoveQuotes(disposition.Name).Value ?? "";
                if (disposition.IsFileDisposition())
                {
                    if (!s_fileFields.Contains(field))
                    {
                        throw new DomainValidationException(field, $"is not an expected file; send {string.Join(", ", s_fileFields)}.");
                    }
                    if (files.ContainsKey(field))
                    {
                        throw new DomainValidationException(field, "was sent more than once.");
                    }
                    files[field] = await StageDecodedAsync(section.Body, field, cancellationToken);
                }
                else
                {
                    using var text = new StreamReader(section.Body);
                    fields[field] = await text.ReadToEndAsync(cancellationToken);
                }
            }
            return await SaveAsync(fields, files, cancellationToken);
        }
        finally
        {
            foreach (StagedFile file in files.Values)
            {
                file.Dispose();
            }
        }
    }

    /// <summary>Copies a part to a staged file, decoding gzip when the part starts with its magic bytes.</summary>
    private async Task<StagedFile> StageDecodedAsync(Stream body, string field, CancellationToken cancellationToken)
    {
        using StagedFile raw = store.Stage();
        await body.CopyToAsync(raw.Stream, cancellationToken);
        await raw.Stream.FlushAsync(cancellationToken);
        StagedFile decoded = store.Stage();
        try
        {
            await using var input = new FileStream(raw.TempPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            if (Idx.IsGzip(input))
            {
                await using var gzip = new GZipStream(input, CompressionMode.Decompress);
                await gzip.CopyToAsync(decoded.Stream, cancellationToken);
            }
            else
            {
                await input.CopyToAsync(decoded.Stream, cancellationToken);
            }
            await decoded.Stream.FlushAsync(cancellationToken);
            return decoded;
        }
        catch (InvalidDataException ex)
        {
            decoded.Dispose();
            throw new DomainValidationException(field, $"is not valid gzip: {ex.Message}");
        }
        catch
        {
            decoded.Dispose();
            throw;
        }
    }

    private async Task<Dataset> SaveAsync(Dictionary<string, string> fields, Dictionary<string, StagedFile> files, CancellationToken cancellationToken)
    {
        var rules = new Rules();
        string name = fields.GetValueOrDefault("name")?.Trim() ?? "";
        if (name.Length == 0)
        {
            rules.Add("name", "is required.");
        }
        else if (name.Length > MaxNameLength)
        {
            rules.Add("name", $"must be at most {MaxNameLength} characters (was {name.Length}).");
        }
        string format = fields.GetValueOrDefault("format")?.Trim().ToLowerInvariant() ?? DatasetFormats.Idx;
        rules.OneOf("format", format, DatasetFormats.All);
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

        IdxSplit train = ReadSplit(files["images"], files["labels"], "images", "labels");
        IdxSplit? test = files.TryGetValue("testImages", out StagedFile? testImages)
            ? ReadSplit(testImages, files["testLabels"], "testImages", "testLabels")
            : null;
        int classes = train.MaxLabel + 1;
        if (train.DistinctLabels < 2)
        {
            rules.Add("labels", "must contain at least two classes.");
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

        var dataset = new Dataset
        {
            Id = Guid.CreateVersion7(),
            Name = name,
            Format = format,
            Shape = train.Shape,
            Classes = classes,
            Samples = train.Count,
            TestSamples = test?.Count ?? 0,
            ContentHash = "",
            ArtifactPath = "",
            CreatedAt = clock.GetUtcNow().UtcDateTime,
        };
        dataset.ArtifactPath = $"datasets/{dataset.Id:N}";
        var layout = new (string Field, string FileName)[]
        {
            ("images", DatasetLayout.TrainImages), ("labels", DatasetLayout.TrainLabels),
            ("testImages", DatasetLayout.TestImages), ("testLabels", DatasetLayout.TestLabels),
        };
        try
        {
            using var contentHash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            foreach ((string field, string fileName) in layout.Where(l => files.ContainsKey(l.Field)))
            {
                StoredFile stored = files[field].Commit($"{dataset.ArtifactPath}/{fileName}");
                contentHash.AppendData(Convert.FromHexString(stored.Sha256));
                dataset.SizeBytes += stored.SizeBytes;
                db.Artifacts.Add(new Artifact
                {
                    Id = Guid.CreateVersion7(),
                    Kind = ArtifactKinds.DatasetFile,
                    Path = stored.Path,
                    SizeBytes = stored.SizeBytes,
                    Sha256 = stored.Sha256,
                    DatasetId = dataset.Id,
                    CreatedAt = dataset.CreatedAt,
                });
            }
            dataset.ContentHash = Convert.ToHexStringLower(contentHash.GetHashAndReset());
            db.Datasets.Add(dataset);
            await db.SaveChangesAsync(cancellationToken);
            return dataset;
        }
        catch
        {
            store.DeleteDirectory(dataset.ArtifactPath);
            throw;
        }
    }

    private sealed record IdxSplit(int Count, int[] Shape, int MaxLabel, int DistinctLabels);

    /// <summary>Checks headers, exact lengths and the image/label count match; reads the labels for the class count.</summary>
    private static IdxSplit ReadSplit(StagedFile images, StagedFile labels, string imagesField, string labelsField)
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

        var seen = new bool[256];
        var buffer = new byte[labelHeader.Count];
        labelStream.ReadExactly(buffer);
        foreach (byte label in buffer)
        {
            seen[label] = true;
        }
        return new IdxSplit(imageHeader.Count, imageHeader.SampleShape, Array.LastIndexOf(seen, true), seen.Count(s => s));
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

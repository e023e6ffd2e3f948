using System.IO.Compression;
using Domain.Common;
using Infrastructure.Artifacts;
using Microsoft.Extensions.Options;

namespace Infrastructure.Datasets;

/// <summary>
/// An IDX dataset sent as one ZIP (format <c>idx</c>, file <c>archive</c>): its <c>train-images*</c>, <c>train-labels*</c> and optional
/// <c>t10k-*</c>/<c>test-*</c> files (raw or gzip, in any folder) become the <c>images</c>, <c>labels</c>,
/// <c>testImages</c> and <c>testLabels</c> files, then go through the same checks. Other entries are ignored.
/// The ZIP limits of image-folder archives apply (entries, ratio, total size).
/// </summary>
public sealed class IdxArchiveFormat(IOptions<DatasetLimitsOptions> limitOptions) : IDatasetFormat
{
    public const string Field = "archive";

    /// <summary>IDX file names in an archive (MNIST's, or test-* for the test split) and the fields they stand for.</summary>
    private static readonly (string Prefix, string Field)[] s_names =
    [
        ("train-images", "images"), ("train-labels", "labels"),
        ("t10k-images", "testImages"), ("t10k-labels", "testLabels"),
        ("test-images", "testImages"), ("test-labels", "testLabels"),
    ];

    public string Name => DatasetFormats.Idx;

    public bool Converts => false;

    public bool Handles(string format, IReadOnlyCollection<string> files) => format == Name && files.Contains(Field);

    public void CheckFiles(Rules rules, IReadOnlyCollection<string> files)
    {
    }

    public async Task<ConvertedDataset> ConvertAsync(StagedDataset upload, DatasetFormatOptions options, CancellationToken cancellationToken)
    {
        await ExpandAsync(upload, limitOptions.Value, cancellationToken);
        return new ConvertedDataset(await upload.DecodeAsync(cancellationToken));
    }

    /// <summary>Replaces the <c>archive</c> file of the upload with the IDX files it holds.</summary>
    private static async Task ExpandAsync(StagedDataset upload, DatasetLimitsOptions limits, CancellationToken cancellationToken)
    {
        if (upload.Detach(Field) is not { } archive)
        {
            return;
        }
        if (upload.Files.Count > 0)
        {
            throw new DomainValidationException(Field,
                $"comes alone: send the IDX files either inside the archive or as files ({string.Join(", ", upload.Files)}), not both.");
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
            throw new DomainValidationException(Field, "is not a ZIP archive (an IDX dataset in one file is a ZIP of train-images, train-labels and optionally t10k-images and t10k-labels, each raw or gzip).");
        }
        using (zip)
        {
            if (zip.Entries.Count > limits.MaxZipEntries)
            {
                throw new DomainValidationException(Field,
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
                string? field = s_names.FirstOrDefault(n => fileName.StartsWith(n.Prefix, StringComparison.OrdinalIgnoreCase)).Field;
                if (field is null)
                {
                    continue;
                }
                if (!found.TryAdd(field, entry))
                {
                    throw new DomainValidationException(Field, $"holds two {field} files: '{found[field].FullName}' and '{entry.FullName}'.");
                }
            }
            if (found.Count == 0)
            {
                throw new DomainValidationException(Field,
                    "holds no IDX files: expected train-images* and train-labels* (optionally t10k-images*/t10k-labels* or test-images*/test-labels*), raw or gzip.");
            }
            long total = 0;
            byte[] buffer = new byte[81920];
            foreach ((string field, ZipArchiveEntry entry) in found)
            {
                ImageFolderFormat.CheckCompressionRatio(entry, limits);
                StagedFile staged = upload.RawFile(field);
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
                            throw new DomainValidationException(Field,
                                $"unpacks to more than {limits.MaxUncompressedBytes} bytes ({DatasetLimitsOptions.Key(nameof(limits.MaxUncompressedBytes))}).");
                        }
                        await staged.Stream.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
                    }
                }
                catch (InvalidDataException ex)
                {
                    throw new DomainValidationException(Field, $"entry '{entry.FullName}' cannot be unpacked: {ex.Message}");
                }
            }
        }
    }
}

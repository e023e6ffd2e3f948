using System.Globalization;

namespace Domain.Datasets;

/// <summary>
/// Section <c>Datasets:Limits</c>: bounds on what one upload may contain, checked while it is decoded and
/// converted, so an upload over a limit is a 400 naming its field, the limit and the key that raises it. The
/// defaults are the values the service used before they became settings, except <see cref="MaxDecodedBytes"/>
/// and <see cref="MaxSourcePixels"/> (gzip output and image sizes were unbounded). The request size itself is <c>Api:MaxUploadBytes</c> (413).
/// </summary>
public sealed class DatasetLimitsOptions
{
    public const string SectionName = "Datasets:Limits";

    /// <summary>Labels are stored as IDX bytes, and CSV integer labels 0..254 are their own class: no setting can exceed this.</summary>
    public const int ClassCeiling = 255;

    /// <summary>Samples in one split: IDX images, CSV rows of <c>data</c> or <c>testData</c>, ZIP images under <c>train/</c> or <c>test/</c>.</summary>
    public int MaxSamples { get; set; } = 1_000_000;

    /// <summary>Classes (the largest label + 1); at most <see cref="ClassCeiling"/>.</summary>
    public int MaxClasses { get; set; } = ClassCeiling;

    /// <summary>Feature columns of a CSV table (every column but the label).</summary>
    public int MaxFeatures { get; set; } = 4096;

    /// <summary>Largest <c>width</c> and <c>height</c> a ZIP's images are resized to.</summary>
    public int MaxImageSide { get; set; } = 512;

    /// <summary>Image files in a ZIP archive (folders and hidden files are not counted).</summary>
    public int MaxZipEntries { get; set; } = 1_000_000;

    /// <summary>Uncompressed size of one ZIP entry, in bytes.</summary>
    public long MaxZipEntryBytes { get; set; } = 64L << 20;

    /// <summary>Uncompressed size of all ZIP entries together, in bytes.</summary>
    public long MaxUncompressedBytes { get; set; } = 1L << 30;

    /// <summary>Uncompressed : compressed size of one ZIP entry.</summary>
    public int MaxCompressionRatio { get; set; } = 100;

    /// <summary>Decompressed size of one gzip-compressed file of the upload, in bytes.</summary>
    public long MaxDecodedBytes { get; set; } = 8L << 30;

    /// <summary>
    /// Pixels (width × height) of one ZIP image before it is resized, as its header declares them: checked before the
    /// image is decoded, so a small file cannot make the server allocate and fill a huge bitmap. 40 megapixels by default.
    /// </summary>
    public long MaxSourcePixels { get; set; } = 40_000_000;

    /// <summary>
    /// Bytes a CSV or image-folder upload converts to (the IDX images and labels of both splits), computed from the declared
    /// sizes before anything is decoded: images × width × height × channels for a ZIP, rows × (features + 1) for CSV. 2 GiB by default.
    /// </summary>
    public long MaxConvertedBytes { get; set; } = 2L << 30;

    /// <summary>Characters of one CSV record (a quoted field's line breaks included), checked as it is read. 1 MiB by default.</summary>
    public int MaxCsvLineLength { get; set; } = 1 << 20;

    /// <summary>The configuration key of a limit, e.g. <c>Datasets:Limits:MaxSamples</c>.</summary>
    public static string Key(string limit) => $"{SectionName}:{limit}";

    /// <summary>"the limit is 60000 (Datasets:Limits:MaxSamples)": the end of every over-the-limit message.</summary>
    public static string Describe(long value, string limit) =>
        $"the limit is {value.ToString(CultureInfo.InvariantCulture)} ({Key(limit)})";

    /// <summary>Settings that cannot work (zero, negative, above <see cref="ClassCeiling"/>), by configuration key.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        void Positive(long value, string limit)
        {
            if (value < 1)
            {
                errors.Add($"{Key(limit)} must be positive (was {value}).");
            }
        }
        Positive(MaxSamples, nameof(MaxSamples));
        Positive(MaxFeatures, nameof(MaxFeatures));
        Positive(MaxImageSide, nameof(MaxImageSide));
        Positive(MaxZipEntries, nameof(MaxZipEntries));
        Positive(MaxZipEntryBytes, nameof(MaxZipEntryBytes));
        Positive(MaxUncompressedBytes, nameof(MaxUncompressedBytes));
        Positive(MaxCompressionRatio, nameof(MaxCompressionRatio));
        Positive(MaxDecodedBytes, nameof(MaxDecodedBytes));
        Positive(MaxSourcePixels, nameof(MaxSourcePixels));
        Positive(MaxConvertedBytes, nameof(MaxConvertedBytes));
        Positive(MaxCsvLineLength, nameof(MaxCsvLineLength));
        if (MaxClasses is < 2 or > ClassCeiling)
        {
            errors.Add($"{Key(nameof(MaxClasses))} must be between 2 and {ClassCeiling} (was {MaxClasses}).");
        }
        return errors;
    }
}

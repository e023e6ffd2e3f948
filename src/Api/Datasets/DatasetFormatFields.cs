using System.Globalization;
using Infrastructure.Datasets;

namespace Api.Datasets;

/// <summary>
/// The upload's text fields a format reads, mapped to its <see cref="DatasetFormatOptions"/>: <c>labelColumn</c> and
/// <c>hasHeader</c> for csv, <c>width</c>, <c>height</c> and <c>channels</c> for zip. Bad values are 400s naming the field.
/// </summary>
internal static class DatasetFormatFields
{
    /// <summary>Text fields a format reads besides <c>name</c> and <c>format</c>: csv, then zip.</summary>
    public static readonly IReadOnlyList<string> Names = ["labelColumn", "hasHeader", "width", "height", "channels"];

    /// <summary>The options of <paramref name="format"/> read from <paramref name="fields"/>; other formats' fields are ignored.</summary>
    public static DatasetFormatOptions Read(string format, IReadOnlyDictionary<string, string> fields, DatasetLimitsOptions limits) => format switch
    {
        DatasetFormats.Csv => new DatasetFormatOptions { Csv = ReadCsv(fields) },
        DatasetFormats.Zip => new DatasetFormatOptions { ImageFolder = ReadImageFolder(fields, limits) },
        _ => new DatasetFormatOptions(),
    };

    private static CsvFormatOptions ReadCsv(IReadOnlyDictionary<string, string> fields)
    {
        bool? hasHeader = null;
        if (fields.GetValueOrDefault("hasHeader")?.Trim() is { Length: > 0 } text)
        {
            hasHeader = bool.TryParse(text, out bool value) ? value
                : throw new DomainValidationException("hasHeader", $"must be true or false (was '{text}').");
        }
        return new CsvFormatOptions(fields.GetValueOrDefault("labelColumn")?.Trim(), hasHeader);
    }

    /// <summary>
    /// Reads <c>width</c>, <c>height</c> (1..<see cref="DatasetLimitsOptions.MaxImageSide"/>, default <see cref="ImageFolderOptions.DefaultSide"/> or the
    /// limit if lower) and <c>channels</c> (1 or 3, default 1).
    /// </summary>
    private static ImageFolderOptions ReadImageFolder(IReadOnlyDictionary<string, string> fields, DatasetLimitsOptions limits)
    {
        var rules = new Rules();
        int Read(string name, int fallback)
        {
            string? text = fields.GetValueOrDefault(name)?.Trim();
            if (string.IsNullOrEmpty(text))
            {
                return fallback;
            }
            if (!int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int value))
            {
                rules.Add(name, $"must be an integer (was '{text}').");
                return fallback;
            }
            return value;
        }
        // A server configured below the default side defaults to its limit rather than rejecting every upload that omits the size.
        int defaultSide = Math.Min(ImageFolderOptions.DefaultSide, limits.MaxImageSide);
        int width = Read("width", defaultSide), height = Read("height", defaultSide), channels = Read("channels", 1);
        foreach ((string name, int side) in new[] { ("width", width), ("height", height) })
        {
            if (side < 1 || side > limits.MaxImageSide)
            {
                string limit = side > limits.MaxImageSide ? $"; {DatasetLimitsOptions.Describe(limits.MaxImageSide, nameof(limits.MaxImageSide))}" : "";
                rules.Add(name, $"must be between 1 and {limits.MaxImageSide} (was {side}){limit}.");
            }
        }
        if (channels is not (1 or 3))
        {
            rules.Add("channels", $"must be 1 (grey) or 3 (RGB) (was {channels}).");
        }
        rules.ThrowIfInvalid();
        return new ImageFolderOptions(width, height, channels);
    }
}

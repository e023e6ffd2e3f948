using System.Globalization;
using Google.Protobuf.Collections;

namespace TrainingService.Sdk;

/// <summary>
/// How the service reads a CSV upload (<see cref="DatasetsClient.UploadCsvAsync(string, Stream, Stream?, CsvUploadOptions?, IProgress{UploadProgress}?, CancellationToken)"/>).
/// The delimiter (<c>,</c> <c>;</c> or tab) is always detected.
/// </summary>
public sealed record CsvUploadOptions
{
    /// <summary>
    /// The label column: its header name, or its 0-based index as text (e.g. <c>"0"</c>). Null: a header column named
    /// <c>label</c>, <c>class</c> or <c>target</c>, otherwise column 0.
    /// </summary>
    public string? LabelColumn { get; init; }

    /// <summary>Whether the first row is a header; null lets the service detect it.</summary>
    public bool? HasHeader { get; init; }

    internal void AddTo(MapField<string, string> options)
    {
        if (LabelColumn is not null)
        {
            options["labelColumn"] = LabelColumn;
        }
        if (HasHeader is bool hasHeader)
        {
            options["hasHeader"] = hasHeader ? "true" : "false";
        }
    }
}

/// <summary>
/// The size every image of an image-folder upload is resized to, and its colour
/// (<see cref="DatasetsClient.UploadImageFolderAsync"/>, <see cref="DatasetsClient.UploadImageFolderZipAsync(string, Stream, ImageUploadOptions?, IProgress{UploadProgress}?, CancellationToken)"/>).
/// The dataset's sample shape is [<paramref name="Height"/>, <paramref name="Width"/>] for grey and
/// [3, <paramref name="Height"/>, <paramref name="Width"/>] for RGB. The service checks the values (400 naming the field).
/// </summary>
/// <param name="Width">Pixels, 1 to 512.</param>
/// <param name="Height">Pixels, 1 to 512.</param>
/// <param name="Channels">1 (grey) or 3 (RGB, stored planar).</param>
public sealed record ImageUploadOptions(int Width = 28, int Height = 28, int Channels = 1)
{
    internal void AddTo(MapField<string, string> options)
    {
        options["width"] = Width.ToString(CultureInfo.InvariantCulture);
        options["height"] = Height.ToString(CultureInfo.InvariantCulture);
        options["channels"] = Channels.ToString(CultureInfo.InvariantCulture);
    }
}

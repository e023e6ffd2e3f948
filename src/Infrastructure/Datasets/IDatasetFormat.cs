using Domain.Common;
using Infrastructure.Artifacts;

namespace Infrastructure.Datasets;

/// <summary>
/// One upload format (<see cref="DatasetFormats"/>): turns the files of a staged upload into the canonical IDX files
/// (<c>images</c>, <c>labels</c>, optionally <c>testImages</c> and <c>testLabels</c>) in the artifact store's staging area,
/// within <see cref="DatasetLimitsOptions"/>. Errors are <see cref="DomainValidationException"/>s naming the upload's fields.
/// The caller validates the IDX files, deduplicates and stores them.
/// </summary>
public interface IDatasetFormat
{
    /// <summary>The <c>format</c> value it reads.</summary>
    string Name { get; }

    /// <summary>
    /// True when the upload is converted into another layout (CSV, image folders): its name and files are checked
    /// (<see cref="CheckFiles"/>) before anything is read. IDX uploads are checked as IDX after <see cref="ConvertAsync"/>.
    /// </summary>
    bool Converts { get; }

    /// <summary>Whether it reads an upload of this <c>format</c> with these file fields.</summary>
    bool Handles(string format, IReadOnlyCollection<string> files);

    /// <summary>Adds an error for each file it does not read and for a required file that is missing.</summary>
    void CheckFiles(Rules rules, IReadOnlyCollection<string> files);

    /// <summary>Decodes and converts; stops when <paramref name="cancellationToken"/> fires. Every file it stages is deleted with the upload unless committed.</summary>
    Task<ConvertedDataset> ConvertAsync(StagedDataset upload, DatasetFormatOptions options, CancellationToken cancellationToken);
}

/// <summary>
/// What a format produced: staged files by field (the IDX layout's; an IDX upload passes on every file it was sent, and
/// validation names the ones that are not IDX fields) and, for string labels or folder names, the class names.
/// </summary>
public sealed record ConvertedDataset(IReadOnlyDictionary<string, StagedFile> Files, IReadOnlyList<string>? ClassNames = null);

/// <summary>Format-specific options of an upload; each format reads its own.</summary>
public sealed record DatasetFormatOptions
{
    public CsvFormatOptions Csv { get; init; } = new();

    public ImageFolderOptions ImageFolder { get; init; } = new();
}

/// <summary>CSV options: the label column (header name or 0-based index; null: detect) and whether there is a header (null: detect).</summary>
public sealed record CsvFormatOptions(string? LabelColumn = null, bool? HasHeader = null);

/// <summary>Image-folder options: the size every image is resized to and 1 (grey) or 3 (RGB) channels.</summary>
public sealed record ImageFolderOptions(
    int Width = ImageFolderOptions.DefaultSide, int Height = ImageFolderOptions.DefaultSide, int Channels = 1)
{
    public const int DefaultSide = 28;
}

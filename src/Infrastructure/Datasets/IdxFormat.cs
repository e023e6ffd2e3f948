using Domain.Common;

namespace Infrastructure.Datasets;

/// <summary>
/// IDX files sent as they are stored: <c>images</c>, <c>labels</c> and optionally <c>testImages</c> and <c>testLabels</c>,
/// each raw or gzip (decoded within <see cref="DatasetLimitsOptions.MaxDecodedBytes"/>). Nothing is converted; the IDX
/// checks of the upload apply to the decoded files.
/// </summary>
public sealed class IdxFormat : IDatasetFormat
{
    /// <summary>The file fields of the IDX layout, which every format produces.</summary>
    public static readonly IReadOnlyList<string> FileFields = ["images", "labels", "testImages", "testLabels"];

    public string Name => DatasetFormats.Idx;

    public bool Converts => false;

    public bool Handles(string format, IReadOnlyCollection<string> files) => format == Name && !files.Contains(IdxArchiveFormat.Field);

    public void CheckFiles(Rules rules, IReadOnlyCollection<string> files)
    {
    }

    public async Task<ConvertedDataset> ConvertAsync(StagedDataset upload, DatasetFormatOptions options, CancellationToken cancellationToken) =>
        new(await upload.DecodeAsync(cancellationToken));
}

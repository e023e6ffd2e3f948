using Api.Extensions;
using Infrastructure.Artifacts;
using Infrastructure.Datasets;

namespace Api.Datasets;

/// <summary>
/// One upload in progress: form fields and the raw bytes of each file, staged as they arrive (in one piece
/// from multipart, in chunks from gRPC) within the <see cref="ApiOptions"/> limits. Disposing it deletes every staged
/// file that was not committed.
/// </summary>
public sealed class DatasetUpload : IDisposable
{
    private readonly long _maxBytes;
    private readonly int _maxFields;
    private long _bytes;
    private int _fieldCount;

    internal DatasetUpload(IArtifactStore store, ApiOptions options, long maxDecodedBytes)
    {
        Staged = new StagedDataset(store, maxDecodedBytes);
        _maxBytes = options.MaxUploadBytes;
        _maxFields = options.MaxFormFields;
        MaxFieldLength = options.MaxFormFieldLength;
    }

    /// <summary>The staged files, which a <see cref="IDatasetFormat"/> converts.</summary>
    public StagedDataset Staged { get; }

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

    public bool HasFile(string field) => Staged.HasFile(field);

    /// <summary>Appends bytes to a file (one of <see cref="DatasetUploadService.FileFields"/>).</summary>
    /// <exception cref="BadHttpRequestException">413: the upload exceeds <see cref="ApiOptions.MaxUploadBytes"/>.</exception>
    public async Task AppendAsync(string field, ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        Infrastructure.Observability.ServiceTelemetry.UploadSize.Add(data.Length);
        Count(data.Length);
        await Staged.AppendAsync(field, data, cancellationToken);
    }

    public void Dispose() => Staged.Dispose();
}

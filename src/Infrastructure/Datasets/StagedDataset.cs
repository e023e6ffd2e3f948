using System.IO.Compression;
using Domain.Common;
using Infrastructure.Artifacts;

namespace Infrastructure.Datasets;

/// <summary>
/// The files of one upload in the artifact store's staging area: the raw bytes of each file field as they arrived, and
/// every file derived from them (gzip decoded, unpacked, converted). Disposing it deletes every staged file that was not committed.
/// </summary>
public sealed class StagedDataset(IArtifactStore store, long maxDecodedBytes) : IDisposable
{
    private readonly Dictionary<string, StagedFile> _raw = new(StringComparer.Ordinal);
    private readonly List<StagedFile> _derived = [];
    private Dictionary<string, StagedFile>? _decoded;

    /// <summary>The file fields staged so far.</summary>
    public IReadOnlyCollection<string> Files => _raw.Keys;

    public bool HasFile(string field) => _raw.ContainsKey(field);

    /// <summary>Appends bytes to a file field, staging it on its first bytes.</summary>
    public async Task AppendAsync(string field, ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        await RawFile(field).Stream.WriteAsync(data, cancellationToken);
    }

    /// <summary>The raw file of a field, staged empty if it was not sent.</summary>
    public StagedFile RawFile(string field)
    {
        if (!_raw.TryGetValue(field, out StagedFile? file))
        {
            _raw[field] = file = store.Stage();
        }
        _decoded = null;
        return file;
    }

    /// <summary>Takes a field's raw file out of the upload's files (it is still deleted with the upload); null when it was not sent.</summary>
    public StagedFile? Detach(string field)
    {
        if (!_raw.Remove(field, out StagedFile? file))
        {
            return null;
        }
        _derived.Add(file);
        _decoded = null;
        return file;
    }

    /// <summary>A new staged file for output derived from the upload; deleted with the upload unless committed.</summary>
    public StagedFile Stage()
    {
        StagedFile file = store.Stage();
        _derived.Add(file);
        return file;
    }

    /// <summary>
    /// The decoded files by field: gzip files are decompressed into new staged files, raw ones are used as they are.
    /// A gzip file must end with the trailer of what it decompressed to (<see cref="GzipTrailerCheck"/>): GZipStream
    /// itself reports no truncation. Decoded once: a later call returns the same files unless a file was staged since.
    /// </summary>
    public async Task<Dictionary<string, StagedFile>> DecodeAsync(CancellationToken cancellationToken) =>
        _decoded ??= await DecodeAllAsync(cancellationToken);

    private async Task<Dictionary<string, StagedFile>> DecodeAllAsync(CancellationToken cancellationToken)
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
            StagedFile decoded = Stage();
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
                if (total > maxDecodedBytes)
                {
                    throw new DomainValidationException(field,
                        $"decompresses to more than {maxDecodedBytes} bytes; {DatasetLimitsOptions.Describe(maxDecodedBytes, nameof(DatasetLimitsOptions.MaxDecodedBytes))}.");
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

    /// <summary>Flushes files written through their <see cref="StagedFile.Stream"/> so they can be read by path.</summary>
    public static Dictionary<string, StagedFile> Flush(Dictionary<string, StagedFile> files)
    {
        foreach (StagedFile file in files.Values)
        {
            file.Stream.Flush();
        }
        return files;
    }

    public void Dispose()
    {
        // Each file on its own: one that cannot be deleted must not keep the others.
        List<Exception>? errors = null;
        foreach (StagedFile file in _raw.Values.Concat(_derived))
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

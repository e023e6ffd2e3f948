using System.Security.Cryptography;

namespace Infrastructure.Artifacts;

/// <summary>A file the store holds: its path relative to the root, size and lower-case hex sha256.</summary>
public sealed record StoredFile(string Path, long SizeBytes, string Sha256)
{
    /// <summary>The metadata row that records this file.</summary>
    public Artifact ToArtifact(
        string kind, DateTime createdAt, Guid? jobId = null, Guid? runId = null, Guid? datasetId = null, int? epoch = null, double? rankFraction = null) =>
        new()
        {
            Id = Guid.CreateVersion7(),
            Kind = kind,
            Path = Path,
            SizeBytes = SizeBytes,
            Sha256 = Sha256,
            JobId = jobId,
            RunId = runId,
            DatasetId = datasetId,
            Epoch = epoch,
            RankFraction = rankFraction,
            CreatedAt = createdAt,
        };
}

/// <summary>
/// Content store for dataset files, checkpoints and exported models. Files are written to a staging
/// area while their sha256 is computed, then moved into place atomically, so a reader never sees a
/// partial file and an aborted write leaves nothing behind.
/// </summary>
public interface IArtifactStore
{
    /// <summary>Absolute root folder (shared by the Api and every worker).</summary>
    string Root { get; }

    /// <summary>Starts a new file in the staging area. Dispose without <see cref="StagedFile.Commit"/> deletes it.</summary>
    StagedFile Stage();

    Stream OpenRead(string path);

    bool Exists(string path);

    /// <summary>Deletes a file if it exists.</summary>
    void Delete(string path);

    /// <summary>Deletes a folder and everything in it if it exists.</summary>
    void DeleteDirectory(string path);

    /// <summary>Recomputes a stored file's sha256 (to verify integrity).</summary>
    string ComputeSha256(string path);
}

internal sealed class FileArtifactStore : IArtifactStore
{
    /// <summary>Folder under the root where files are written before <see cref="StagedFile.Commit"/> (see <see cref="StorageSweeper"/>).</summary>
    internal const string StagingFolder = ".staging";

    public FileArtifactStore(string root)
    {
        Root = Path.GetFullPath(root);
        Directory.CreateDirectory(Path.Combine(Root, StagingFolder));
    }

    public string Root { get; }

    public StagedFile Stage() => new(this, Path.Combine(Root, StagingFolder, $"{Guid.NewGuid():N}.tmp"));

    public Stream OpenRead(string path) =>
        new FileStream(Resolve(path), FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);

    public bool Exists(string path) => File.Exists(Resolve(path));

    public void Delete(string path)
    {
        string full = Resolve(path);
        if (File.Exists(full))
        {
            File.Delete(full);
        }
    }

    public void DeleteDirectory(string path)
    {
        string full = Resolve(path);
        if (Directory.Exists(full))
        {
            Directory.Delete(full, recursive: true);
        }
    }

    public string ComputeSha256(string path)
    {
        using Stream stream = OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    /// <summary>Maps a relative store path to an absolute one, refusing anything that escapes the root.</summary>
    internal string Resolve(string path)
    {
        if (string.IsNullOrWhiteSpace(path) || Path.IsPathRooted(path))
        {
            throw new ArgumentException($"'{path}' is not a relative artifact path.", nameof(path));
        }
        string full = Path.GetFullPath(Path.Combine(Root, path));
        if (!full.StartsWith(Root + Path.DirectorySeparatorChar, StringComparison.Ordinal))
        {
            throw new ArgumentException($"'{path}' points outside the artifact store.", nameof(path));
        }
        return full;
    }
}

/// <summary>A file being written: bytes go through <see cref="Stream"/>, which hashes them on the way.</summary>
public sealed class StagedFile : IDisposable
{
    private readonly FileArtifactStore _store;
    private readonly FileStream _file;
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private bool _committed;

    internal StagedFile(FileArtifactStore store, string tempPath)
    {
        _store = store;
        TempPath = tempPath;
        _file = new FileStream(tempPath, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.Read, 1 << 16);
        Stream = new HashingWriteStream(_file, _hash);
    }

    /// <summary>Absolute path of the staged bytes, readable before commit (e.g. to validate them).</summary>
    public string TempPath { get; }

    public Stream Stream { get; }

    public long Length => _file.Length;

    /// <summary>Lower-case hex sha256 of the bytes written so far: what <see cref="Commit"/> reports if nothing more is written.</summary>
    public string CurrentSha256() => Convert.ToHexStringLower(_hash.GetCurrentHash());

    /// <summary>
    /// Flushes the file to disk and moves it to <paramref name="path"/> (relative); an existing file there is replaced.
    /// The target folder (and any folder this created) is fsynced too, so the new name survives a power loss.
    /// </summary>
    public StoredFile Commit(string path)
    {
        string target = _store.Resolve(path);
        _file.Flush(flushToDisk: true);
        long size = _file.Length;
        _file.Dispose();
        string folder = Path.GetDirectoryName(target)!;
        // Folders about to be created: each one's name lives in its parent, which must be flushed as well.
        var created = new List<string>();
        for (string? dir = folder; dir is not null && dir.Length > _store.Root.Length && !Directory.Exists(dir); dir = Path.GetDirectoryName(dir))
        {
            created.Add(dir);
        }
        Directory.CreateDirectory(folder);
        File.Move(TempPath, target, overwrite: true);
        _committed = true;
        DirectorySync.Flush(folder);
        foreach (string dir in created)
        {
            DirectorySync.Flush(Path.GetDirectoryName(dir)!);
        }
        return new StoredFile(path, size, Convert.ToHexStringLower(_hash.GetHashAndReset()));
    }

    /// <summary>Deletes the staged file unless committed. Never throws for the discarded bytes (e.g. their flush on a full disk).</summary>
    public void Dispose()
    {
        try
        {
            _file.Dispose();
        }
        catch (IOException) when (!_committed)
        {
            // Dispose flushes the stream's buffer; on a full disk that fails again, and those bytes are being thrown away.
        }
        finally
        {
            _hash.Dispose();
            if (!_committed)
            {
                File.Delete(TempPath);
            }
        }
    }

    private sealed class HashingWriteStream(Stream inner, IncrementalHash hash) : Stream
    {
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => inner.Length;
        public override long Position { get => inner.Position; set => throw new NotSupportedException(); }
        public override void Flush() => inner.Flush();
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            hash.AppendData(buffer);
            inner.Write(buffer);
        }

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            hash.AppendData(buffer.Span);
            await inner.WriteAsync(buffer, cancellationToken);
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        // The inner file is owned by StagedFile, which disposes it on commit or dispose.
        protected override void Dispose(bool disposing)
        {
        }
    }
}

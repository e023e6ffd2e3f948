using System.Buffers;
using Google.Protobuf;

namespace TrainingService.Sdk;

/// <summary>
/// Sends the files of one <c>UploadDataset</c> call as <see cref="DatasetChunk"/> messages of <c>chunkSize</c> bytes
/// (the last of each file may be shorter) and reports the bytes sent after every chunk.
/// </summary>
internal sealed class DatasetUploadWriter(
    IClientStreamWriter<UploadDatasetRequest> requests, int chunkSize, long? totalBytes,
    IProgress<UploadProgress>? progress, CancellationToken cancellationToken)
{
    private readonly int _chunkSize = chunkSize;
    private long _sent;

    /// <summary>Bytes from a stream's position to its end, or null when it cannot tell.</summary>
    public static long? Remaining(Stream stream) => stream.CanSeek ? stream.Length - stream.Position : null;

    /// <summary>Sends <paramref name="source"/> from its current position to its end as chunks of <paramref name="file"/>.</summary>
    public async Task SendAsync(DatasetFile file, Stream source)
    {
        byte[] buffer = ArrayPool<byte>.Shared.Rent(_chunkSize);
        try
        {
            int read;
            while ((read = await source.ReadAtLeastAsync(buffer.AsMemory(0, _chunkSize), _chunkSize, throwOnEndOfStream: false, cancellationToken)) > 0)
            {
                await SendChunkAsync(file, buffer.AsMemory(0, read));
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// A write-only stream whose bytes are sent as chunks of <paramref name="file"/> while it is written, so a file
    /// produced on the fly (a ZIP) is never held whole. Dispose it with <c>await using</c>: that sends the last chunk.
    /// </summary>
    public Stream OpenWrite(DatasetFile file) => new ChunkStream(this, file);

    private async Task SendChunkAsync(DatasetFile file, ReadOnlyMemory<byte> data)
    {
        // CopyFrom copies, so the caller may reuse its buffer as soon as this returns.
        var chunk = new DatasetChunk { File = file, Data = ByteString.CopyFrom(data.Span) };
        await requests.WriteAsync(new UploadDatasetRequest { Chunk = chunk }, cancellationToken);
        _sent += data.Length;
        progress?.Report(new UploadProgress(_sent, totalBytes));
    }

    /// <summary>
    /// Collects writes and sends every full chunk on the next asynchronous write. Synchronous writes are only
    /// collected (a writer that mixes them in is never blocked on the network); they go out with the next
    /// asynchronous write or at <see cref="DisposeAsync"/>.
    /// </summary>
    private sealed class ChunkStream(DatasetUploadWriter writer, DatasetFile file) : Stream
    {
        private readonly MemoryStream _pending = new();
        private bool _disposed;

        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => !_disposed;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _pending.Write(buffer);
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _pending.Write(buffer.Span);
            await SendAsync(all: false);
        }

        // Flushing does not force a short chunk: chunks stay full until the file ends.
        public override void Flush()
        {
        }

        public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public override async ValueTask DisposeAsync()
        {
            if (!_disposed)
            {
                await SendAsync(all: true);
                _disposed = true;
            }
            await base.DisposeAsync();
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();

        /// <summary>Sends the full chunks collected (and, with <paramref name="all"/>, the rest) and keeps what remains.</summary>
        private async Task SendAsync(bool all)
        {
            byte[] data = _pending.GetBuffer();
            int length = (int)_pending.Length, offset = 0;
            while (length - offset >= writer._chunkSize || (all && offset < length))
            {
                int size = Math.Min(writer._chunkSize, length - offset);
                await writer.SendChunkAsync(file, data.AsMemory(offset, size));
                offset += size;
            }
            if (offset > 0)
            {
                Buffer.BlockCopy(data, offset, data, 0, length - offset);
                _pending.SetLength(length - offset);
                _pending.Position = length - offset;
            }
        }
    }
}

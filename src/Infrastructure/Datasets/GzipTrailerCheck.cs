using System.Buffers.Binary;
using System.IO.Hashing;

namespace Infrastructure.Datasets;

/// <summary>
/// Whether a gzip file ends with the trailer of the data it decompressed to. Each gzip member ends with 8 bytes
/// (RFC 1952, section 2.3.1): the CRC-32 of its uncompressed data, then that data's length modulo 2^32, both
/// little-endian. <see cref="System.IO.Compression.GZipStream"/> stops without an error when its input ends inside a
/// member (before the last deflate block or inside the trailer), so a truncated upload would decode to a shorter file;
/// this check refuses it instead. Feed every decoded byte to <see cref="Append"/>, then call <see cref="Matches"/>.
/// </summary>
internal sealed class GzipTrailerCheck
{
    /// <summary>A 10-byte member header and the 8-byte trailer: no complete member is shorter.</summary>
    private const int MinimumFileLength = 18;

    private readonly Crc32 _crc = new();

    /// <summary>Decoded bytes appended so far.</summary>
    public long Length { get; private set; }

    public void Append(ReadOnlySpan<byte> decoded)
    {
        _crc.Append(decoded);
        Length += decoded.Length;
    }

    /// <summary>
    /// True when <paramref name="raw"/> ends with a trailer for the decoded data: for the usual single member, the
    /// CRC-32 and length of everything appended; for a file of several concatenated members (which GZipStream decodes
    /// one after the other), the CRC-32 of the last member's output, the final ISIZE (+ k·2^32) bytes of
    /// <paramref name="decoded"/>. Both streams must be seekable; their positions are changed.
    /// </summary>
    public bool Matches(Stream raw, Stream decoded)
    {
        if (raw.Length < MinimumFileLength)
        {
            return false;
        }
        Span<byte> trailer = stackalloc byte[8];
        raw.Position = raw.Length - trailer.Length;
        raw.ReadExactly(trailer);
        uint crc = BinaryPrimitives.ReadUInt32LittleEndian(trailer);
        uint size = BinaryPrimitives.ReadUInt32LittleEndian(trailer[4..]);
        if (_crc.GetCurrentHashAsUInt32() == crc && (uint)Length == size)
        {
            return true;
        }
        for (long suffix = size; suffix < Length; suffix += 1L << 32)
        {
            decoded.Position = Length - suffix;
            if (Compute(decoded, suffix) == crc)
            {
                return true;
            }
        }
        return false;
    }

    private static uint Compute(Stream stream, long count)
    {
        var crc = new Crc32();
        byte[] buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(1 << 16);
        try
        {
            int read;
            while (count > 0 && (read = stream.Read(buffer, 0, (int)Math.Min(buffer.Length, count))) > 0)
            {
                crc.Append(buffer.AsSpan(0, read));
                count -= read;
            }
            return crc.GetCurrentHashAsUInt32();
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}

using System.Buffers.Binary;
using System.IO.Compression;
using Domain.Common;

namespace Domain.Datasets;

/// <summary>
/// The IDX format of the MNIST database (LeCun, Cortes and Burges, http://yann.lecun.com/exdb/mnist/):
/// two zero bytes, a type byte, a dimension count, then big-endian int32 sizes and the row-major data.
/// Only unsigned bytes (type 0x08) are accepted, which is what MNIST-style image and label files use.
/// This is the one reader and writer of the format: the Api (uploads, conversions, previews), the Worker, the
/// benchmark and the examples all go through it.
/// </summary>
public static class Idx
{
    public const byte UnsignedByte = 0x08;
    public const int MaxDimensions = 4;

    /// <summary>Reads and checks the header. Errors name <paramref name="field"/> and say what is wrong.</summary>
    public static IdxHeader ReadHeader(Stream stream, string field)
    {
        Span<byte> magic = stackalloc byte[4];
        if (!TryReadExactly(stream, magic))
        {
            throw new DomainValidationException(field, "is empty or shorter than an IDX header (4 bytes).");
        }
        if (magic[0] != 0 || magic[1] != 0)
        {
            throw new DomainValidationException(field,
                $"has wrong magic number 0x{BinaryPrimitives.ReadUInt32BigEndian(magic):X8}: an IDX file starts with two zero bytes.");
        }
        if (magic[2] != UnsignedByte)
        {
            throw new DomainValidationException(field, $"has IDX data type 0x{magic[2]:X2}; only unsigned bytes (0x08) are supported.");
        }
        int dims = magic[3];
        if (dims is < 1 or > MaxDimensions)
        {
            throw new DomainValidationException(field, $"declares {dims} dimensions; 1 to {MaxDimensions} are supported.");
        }
        Span<byte> sizes = stackalloc byte[4 * dims];
        if (!TryReadExactly(stream, sizes))
        {
            throw new DomainValidationException(field, "is truncated inside its IDX header.");
        }
        var dimensions = new int[dims];
        for (int i = 0; i < dims; i++)
        {
            int size = BinaryPrimitives.ReadInt32BigEndian(sizes.Slice(4 * i, 4));
            if (size <= 0)
            {
                throw new DomainValidationException(field, $"has dimension {i} of size {size}; sizes must be positive.");
            }
            dimensions[i] = size;
        }
        // Up to three sample dimensions of 2^31 - 1 overflow a long (a product of 2^64 wraps to 0 and would pass the
        // length check), so the size is computed in 128 bits and refused past what a stream's length can express.
        Int128 sampleSize = 1;
        foreach (int size in dimensions.AsSpan(1))
        {
            sampleSize *= size;
        }
        Int128 length = 4 + 4 * dims + dimensions[0] * sampleSize;
        if (length > long.MaxValue)
        {
            throw new DomainValidationException(field,
                $"declares {dimensions[0]} samples of {string.Join(" × ", dimensions[1..])} = {sampleSize} bytes ({length} bytes in all), more than a file can hold.");
        }
        return new IdxHeader(magic[2], dimensions);
    }

    /// <summary>
    /// Reads the header and the whole payload (<see cref="IdxHeader.Count"/> × <see cref="IdxHeader.SampleSize"/> bytes).
    /// Header errors are those of <see cref="ReadHeader"/>; a payload shorter than declared throws
    /// <see cref="EndOfStreamException"/>. Bytes after the payload are not read.
    /// </summary>
    public static IdxData Read(Stream stream, string field)
    {
        IdxHeader header = ReadHeader(stream, field);
        var data = new byte[checked(header.Count * header.SampleSize)];
        stream.ReadExactly(data);
        return new IdxData(header, data);
    }

    /// <summary>
    /// Reads an IDX file from disk, raw or gzip-compressed (as MNIST and Fashion-MNIST are distributed: the gzip
    /// magic decides, not the name). Errors name the file.
    /// </summary>
    public static IdxData ReadFile(string path)
    {
        using Stream file = File.OpenRead(path);
        using Stream stream = IsGzip(file) ? new GZipStream(file, CompressionMode.Decompress) : file;
        return Read(stream, Path.GetFileName(path));
    }

    /// <summary>Writes an unsigned-byte header with these dimensions (the sample count first); the data follows it.</summary>
    public static void WriteHeader(Stream stream, params ReadOnlySpan<int> dimensions)
    {
        if (dimensions.Length is < 1 or > MaxDimensions)
        {
            throw new ArgumentOutOfRangeException(nameof(dimensions), dimensions.Length, $"An IDX header has 1 to {MaxDimensions} dimensions.");
        }
        Span<byte> header = stackalloc byte[4 + 4 * MaxDimensions];
        header = header[..(4 + 4 * dimensions.Length)];
        header[..4].Clear();
        header[2] = UnsignedByte;
        header[3] = (byte)dimensions.Length;
        for (int i = 0; i < dimensions.Length; i++)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(dimensions[i], nameof(dimensions));
            BinaryPrimitives.WriteInt32BigEndian(header.Slice(4 + 4 * i, 4), dimensions[i]);
        }
        stream.Write(header);
    }

    /// <summary>True when the stream starts with the gzip magic bytes; the position is restored.</summary>
    public static bool IsGzip(Stream seekable)
    {
        long position = seekable.Position;
        int b0 = seekable.ReadByte();
        int b1 = seekable.ReadByte();
        seekable.Position = position;
        return b0 == 0x1f && b1 == 0x8b;
    }

    private static bool TryReadExactly(Stream stream, Span<byte> buffer)
    {
        int read = 0;
        while (read < buffer.Length)
        {
            int n = stream.Read(buffer[read..]);
            if (n == 0)
            {
                return false;
            }
            read += n;
        }
        return true;
    }
}

/// <summary>An IDX header: <see cref="Dimensions"/>[0] is the sample count, the rest the per-sample shape.</summary>
public sealed record IdxHeader(byte DataType, int[] Dimensions)
{
    public int Count => Dimensions[0];

    public int[] SampleShape => Dimensions[1..];

    /// <summary>Bytes per sample; checked, so a header not read by <see cref="Idx.ReadHeader"/> cannot wrap around.</summary>
    public long SampleSize => SampleShape.Aggregate(1L, (a, b) => checked(a * b));

    public long HeaderLength => 4 + 4L * Dimensions.Length;

    /// <summary>Bytes a complete file with this header has.</summary>
    public long ExpectedLength => checked(HeaderLength + Count * SampleSize);
}

/// <summary>A whole IDX file: its header and its row-major unsigned bytes.</summary>
public sealed record IdxData(IdxHeader Header, byte[] Data)
{
    /// <summary>The bytes scaled to [0, 1] (pixel / 255), as the training engine and exported models take them.</summary>
    public float[] ToUnitFloats()
    {
        var values = new float[Data.Length];
        for (int i = 0; i < Data.Length; i++)
        {
            values[i] = Data[i] / 255f;
        }
        return values;
    }

    /// <summary>The bytes as integers: class labels of a one-dimensional label file.</summary>
    public int[] ToInt32() => Array.ConvertAll(Data, b => (int)b);
}

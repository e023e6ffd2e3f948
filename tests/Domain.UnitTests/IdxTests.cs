using Domain.Common;
using Domain.Datasets;

namespace Domain.UnitTests;

public class IdxTests
{
    private static MemoryStream Header(params byte[] bytes) => new(bytes);

    [Fact]
    public void ReadHeader_ImagesFile_ReturnsCountAndSampleShape()
    {
        using MemoryStream stream = Header(0, 0, 0x08, 3, 0, 0, 0xEA, 0x60, 0, 0, 0, 28, 0, 0, 0, 28);

        IdxHeader header = Idx.ReadHeader(stream, "images");

        Assert.Equal(60000, header.Count);
        Assert.Equal([28, 28], header.SampleShape);
        Assert.Equal(16 + 60000L * 784, header.ExpectedLength);
    }

    [Theory]
    [InlineData(new byte[] { 0x1f, 0x8b, 0x08, 0x00 }, "wrong magic")]
    [InlineData(new byte[] { 0, 0, 0x0D, 1, 0, 0, 0, 1 }, "data type 0x0D")]
    [InlineData(new byte[] { 0, 0, 0x08, 0 }, "0 dimensions")]
    [InlineData(new byte[] { 0, 0, 0x08, 2, 0, 0, 0 }, "truncated")]
    [InlineData(new byte[] { 0, 0, 0x08, 1, 0, 0, 0, 0 }, "size 0")]
    [InlineData(new byte[] { 0, 0 }, "shorter than an IDX header")]
    public void ReadHeader_Malformed_ThrowsNamingFieldAndReason(byte[] bytes, string reason)
    {
        var error = Assert.Throws<DomainValidationException>(() => Idx.ReadHeader(Header(bytes), "labels"));

        ValidationError single = Assert.Single(error.Errors);
        Assert.Equal("labels", single.Field);
        Assert.Contains(reason, single.Message);
    }

    [Theory]
    [InlineData(new[] { 40, 4194304, 2097152, 2097152 })] // 2^64 bytes per sample: wraps to 0 in a long
    [InlineData(new[] { 40, int.MaxValue, int.MaxValue, int.MaxValue })]
    [InlineData(new[] { int.MaxValue, int.MaxValue, int.MaxValue })] // the sample fits, the whole file does not
    public void ReadHeader_SizeBeyondALong_ThrowsNamingFieldAndBytes(int[] dimensions)
    {
        using MemoryStream stream = Header(Encode(dimensions));

        var error = Assert.Throws<DomainValidationException>(() => Idx.ReadHeader(stream, "images"));

        ValidationError single = Assert.Single(error.Errors);
        Assert.Equal("images", single.Field);
        Assert.Contains("more than a file can hold", single.Message);
    }

    [Theory]
    [InlineData(new[] { 40, 0, 4 })]
    [InlineData(new[] { 40, 4, 0 })]
    public void ReadHeader_ZeroSampleDimension_ThrowsNamingDimension(int[] dimensions)
    {
        using MemoryStream stream = Header(Encode(dimensions));

        var error = Assert.Throws<DomainValidationException>(() => Idx.ReadHeader(stream, "images"));

        Assert.Contains("of size 0", Assert.Single(error.Errors).Message);
    }

    [Fact]
    public void SampleSize_OverflowingHeaderBuiltInCode_ThrowsInsteadOfWrapping()
    {
        var header = new IdxHeader(Idx.UnsignedByte, [40, 4194304, 2097152, 2097152]);

        Assert.Throws<OverflowException>(() => header.SampleSize);
        Assert.Throws<OverflowException>(() => header.ExpectedLength);
    }

    [Fact]
    public void IsGzip_ChecksMagicAndRestoresPosition()
    {
        using MemoryStream gzip = Header(0x1f, 0x8b, 8, 0);
        using MemoryStream raw = Header(0, 0, 8, 1);

        Assert.True(Idx.IsGzip(gzip));
        Assert.False(Idx.IsGzip(raw));
        Assert.Equal(0, gzip.Position);
    }

    [Fact]
    public void WriteHeader_MatchesTheFormatByteForByte()
    {
        using var stream = new MemoryStream();

        Idx.WriteHeader(stream, 60000, 28, 28);

        Assert.Equal(Encode([60000, 28, 28]), stream.ToArray());
    }

    [Theory]
    [InlineData(new int[0])]
    [InlineData(new[] { 1, 1, 1, 1, 1 })]
    [InlineData(new[] { 3, -1 })]
    public void WriteHeader_DimensionsTheReaderWouldRefuse_Throw(int[] dimensions)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Idx.WriteHeader(new MemoryStream(), dimensions));
    }

    [Fact]
    public void Read_ReturnsHeaderAndPayload_AndLeavesTrailingBytes()
    {
        using var stream = new MemoryStream([.. Encode([2, 3]), 0, 51, 255, 1, 2, 3, 99]);

        IdxData data = Idx.Read(stream, "images");

        Assert.Equal([3], data.Header.SampleShape);
        Assert.Equal(new byte[] { 0, 51, 255, 1, 2, 3 }, data.Data);
        Assert.Equal([0f, 0.2f, 1f, 1 / 255f, 2 / 255f, 3 / 255f], data.ToUnitFloats());
        Assert.Equal([0, 51, 255, 1, 2, 3], data.ToInt32());
        Assert.Equal(stream.Length - 1, stream.Position);
    }

    [Fact]
    public void Read_TruncatedPayload_ThrowsEndOfStream()
    {
        using var stream = new MemoryStream([.. Encode([4]), 1, 2]);

        Assert.Throws<EndOfStreamException>(() => Idx.Read(stream, "labels"));
    }

    [Fact]
    public void ReadFile_ReadsRawAndGzipFiles_AndNamesTheFileInErrors()
    {
        string folder = Directory.CreateTempSubdirectory("idx-").FullName;
        try
        {
            byte[] file = [.. Encode([3]), 7, 8, 9];
            string raw = Path.Combine(folder, "train-labels-idx1-ubyte");
            File.WriteAllBytes(raw, file);
            string gzip = Path.Combine(folder, "t10k-labels-idx1-ubyte.gz");
            using (var output = File.Create(gzip))
            using (var compressor = new System.IO.Compression.GZipStream(output, System.IO.Compression.CompressionLevel.Fastest))
            {
                compressor.Write(file);
            }
            string bad = Path.Combine(folder, "bad-idx");
            File.WriteAllBytes(bad, [0, 0, 0x0D, 1]);

            Assert.Equal(new byte[] { 7, 8, 9 }, Idx.ReadFile(raw).Data);
            Assert.Equal(new byte[] { 7, 8, 9 }, Idx.ReadFile(gzip).Data);
            var error = Assert.Throws<DomainValidationException>(() => Idx.ReadFile(bad));
            Assert.Equal("bad-idx", Assert.Single(error.Errors).Field);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>An IDX unsigned-byte header with these dimensions and no data.</summary>
    private static byte[] Encode(int[] dimensions)
    {
        var bytes = new byte[4 + 4 * dimensions.Length];
        bytes[2] = Idx.UnsignedByte;
        bytes[3] = (byte)dimensions.Length;
        for (int i = 0; i < dimensions.Length; i++)
        {
            System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4 + 4 * i), dimensions[i]);
        }
        return bytes;
    }
}

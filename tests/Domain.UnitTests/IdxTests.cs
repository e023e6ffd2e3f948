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

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

    [Fact]
    public void IsGzip_ChecksMagicAndRestoresPosition()
    {
        using MemoryStream gzip = Header(0x1f, 0x8b, 8, 0);
        using MemoryStream raw = Header(0, 0, 8, 1);

        Assert.True(Idx.IsGzip(gzip));
        Assert.False(Idx.IsGzip(raw));
        Assert.Equal(0, gzip.Position);
    }
}

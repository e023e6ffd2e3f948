using System.IO.Compression;
using Infrastructure.Datasets;

namespace Api.IntegrationTests;

/// <summary><see cref="GzipTrailerCheck"/> on gzip files decoded the way uploads are: plain unit tests, no Api.</summary>
public sealed class GzipTrailerCheckTests
{
    private static readonly byte[] s_data = Enumerable.Range(0, 50_000).Select(i => (byte)(i * 7 % 251)).ToArray();

    [Fact]
    public void Matches_CompleteFile_IsTrue()
    {
        Assert.True(Check(Gzip(s_data)));
    }

    [Fact]
    public void Matches_EmptyContent_IsTrue()
    {
        // What `gzip` writes for no input (GZipStream writes nothing at all): header, an empty final block, a zero trailer.
        byte[] empty = Convert.FromHexString("1F8B08000000000000030300" + "0000000000000000");

        Assert.True(Check(empty));
    }

    [Fact]
    public void Matches_ConcatenatedMembers_IsTrue()
    {
        Assert.True(Check([.. Gzip(s_data), .. Gzip(s_data.AsSpan(0, 1000).ToArray())]));
    }

    [Theory]
    [InlineData(0.5)] // inside the deflate data: GZipStream decodes a prefix without an error
    [InlineData(0.9)]
    public void Matches_CutInsideTheData_IsFalse(double fraction)
    {
        byte[] gzip = Gzip(s_data);

        Assert.False(Check(gzip[..(int)(gzip.Length * fraction)]));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    [InlineData(8)] // the whole trailer
    public void Matches_CutInsideTheTrailer_IsFalse(int missing)
    {
        byte[] gzip = Gzip(s_data);

        Assert.False(Check(gzip[..^missing]));
    }

    [Fact]
    public void Matches_SecondMemberCut_IsFalse()
    {
        byte[] second = Gzip(s_data);

        Assert.False(Check([.. Gzip(s_data), .. second[..(second.Length / 2)]]));
    }

    /// <summary>Decodes like <see cref="StagedDataset"/> (GZipStream, every chunk appended), then checks the trailer.</summary>
    private static bool Check(byte[] gzip)
    {
        using var raw = new MemoryStream(gzip);
        using var decoded = new MemoryStream();
        var check = new GzipTrailerCheck();
        using (var stream = new GZipStream(raw, CompressionMode.Decompress, leaveOpen: true))
        {
            var buffer = new byte[4096];
            int read;
            while ((read = stream.Read(buffer)) > 0)
            {
                check.Append(buffer.AsSpan(0, read));
                decoded.Write(buffer, 0, read);
            }
        }
        Assert.Equal(decoded.Length, check.Length);
        return check.Matches(raw, decoded);
    }

    private static byte[] Gzip(byte[] data)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Optimal))
        {
            gzip.Write(data);
        }
        return output.ToArray();
    }
}

using Domain.Common;
using Domain.Datasets;
using Infrastructure.Datasets;

namespace Api.IntegrationTests;

/// <summary><see cref="CsvFormat"/>'s conversion on in-memory tables: plain unit tests, no Api (moved with the converter from Domain).</summary>
public class CsvDatasetConversionTests
{
    [Fact]
    public void Convert_QuotedLabelsWithDelimiters_AreClasses()
    {
        string csv = "x,city\r\n1,\"New York, NY\"\r\n2,\"Paris, \"\"FR\"\"\"\r\n3,\"New York, NY\"\r\n";
        using var images = new MemoryStream();
        using var labels = new MemoryStream();

        CsvConversion conversion = CsvFormat.Convert(() => new StringReader(csv), null, new CsvFormatOptions("city", null), new DatasetLimitsOptions(),
            images, labels, null, null);

        Assert.Equal(["New York, NY", "Paris, \"FR\""], conversion.ClassNames);
        Assert.Equal(3, conversion.Samples);
        Assert.Equal([1], conversion.Shape);
    }

    [Fact]
    public void Convert_OverMaxConvertedBytes_IsRefusedBeforeWriting()
    {
        string csv = "a,b,label\n" + string.Concat(Enumerable.Range(0, 10).Select(i => $"{i},{i},{i % 2}\n"));
        using var images = new MemoryStream();
        using var labels = new MemoryStream();

        var ex = Assert.Throws<DomainValidationException>(() => CsvFormat.Convert(() => new StringReader(csv), null, new CsvFormatOptions(null, null),
            new DatasetLimitsOptions { MaxConvertedBytes = 20 }, images, labels, null, null));

        Assert.Contains("Datasets:Limits:MaxConvertedBytes", ex.Errors.Single(e => e.Field == "data").Message);
        Assert.Equal(0, images.Length);
    }

    [Fact]
    public void Convert_CancelledToken_Stops()
    {
        string csv = "a,label\n1,0\n2,1\n";

        Assert.ThrowsAny<OperationCanceledException>(() => CsvFormat.Convert(() => new StringReader(csv), null, new CsvFormatOptions(null, null),
            new DatasetLimitsOptions(), new MemoryStream(), new MemoryStream(), null, null, new CancellationToken(canceled: true)));
    }
}

using Domain.Common;
using Domain.Datasets;

namespace Domain.UnitTests;

/// <summary>RFC 4180 records: quoted delimiters, escaped quotes, line breaks in quotes, CRLF; the line-length limit.</summary>
public class CsvRecordReaderTests
{
    private static List<(string Text, int Line)> Records(string csv, long maxLength = 1 << 20, string delimiters = ",")
    {
        var reader = new CsvRecordReader(new StringReader(csv), "data", maxLength, delimiters);
        var records = new List<(string, int)>();
        while (reader.Next() is (string text, int line))
        {
            records.Add((text, line));
        }
        return records;
    }

    [Fact]
    public void Next_CrlfLfAndCr_EndRecordsAndCountLines()
    {
        List<(string Text, int Line)> records = Records("a,b\r\nc,d\ne,f\rg,h");

        Assert.Equal([("a,b", 1), ("c,d", 2), ("e,f", 3), ("g,h", 4)], records);
    }

    [Fact]
    public void Next_LineBreakInsideQuotes_StaysInTheRecord()
    {
        List<(string Text, int Line)> records = Records("1,\"two\r\nlines\"\r\n\r\n3,x\n");

        Assert.Equal([("1,\"two\r\nlines\"", 1), ("3,x", 4)], records);
    }

    [Fact]
    public void Split_QuotedDelimitersAndEscapedQuotes_AreFieldContent()
    {
        string[] cells = CsvRecordReader.Split("1.5, \"New York, NY\" ,\"say \"\"hi\"\"\",plain ", ',', "data", 1);

        Assert.Equal(["1.5", "New York, NY", "say \"hi\"", "plain"], cells);
    }

    [Fact]
    public void Split_QuoteInsideUnquotedField_IsAnOrdinaryCharacter()
    {
        Assert.Equal(["12\" screen", "2"], CsvRecordReader.Split("12\" screen,2", ',', "data", 1));
    }

    [Fact]
    public void Split_TextAfterClosingQuote_NamesLineAndField()
    {
        var ex = Assert.Throws<DomainValidationException>(() => CsvRecordReader.Split("1,\"a\"b", ',', "data", 7));

        Assert.Contains("line 7", ex.Errors.Single(e => e.Field == "data").Message);
    }

    [Fact]
    public void Next_UnclosedQuote_IsRefusedAtTheEnd()
    {
        var ex = Assert.Throws<DomainValidationException>(() => Records("a,b\n1,\"open\n2,3\n"));

        Assert.Contains("line 2: has a quoted field that is not closed", ex.Errors.Single().Message);
    }

    [Fact]
    public void Next_RecordOverMaxLength_IsRefusedNamingTheSetting()
    {
        var ex = Assert.Throws<DomainValidationException>(() => Records("a,b\n" + new string('9', 100) + ",1\n", maxLength: 50));

        ValidationError error = ex.Errors.Single();
        Assert.Equal("data", error.Field);
        Assert.Contains("line 2", error.Message);
        Assert.Contains("Datasets:Limits:MaxCsvLineLength", error.Message);
    }

    [Fact]
    public void CountDelimiters_IgnoresQuotedOnes()
    {
        Assert.Equal(0, CsvRecordReader.CountDelimiters("\"a,b,c\";1", ','));
        Assert.Equal(1, CsvRecordReader.CountDelimiters("\"a,b,c\";1", ';'));
    }
}

using System.Globalization;
using Domain.Common;
using Infrastructure.Artifacts;
using Microsoft.Extensions.Options;

namespace Infrastructure.Datasets;

/// <summary>What a conversion produced: per-sample shape [features], the class count and, for string labels, their names.</summary>
public sealed record CsvConversion(int[] Shape, int Classes, int Samples, int TestSamples, IReadOnlyList<string>? ClassNames);

/// <summary>
/// Converts a CSV table (one label column, the rest numeric features) into the IDX unsigned-byte layout the
/// worker reads. IDX stores bytes, so every feature is min-max scaled per column to 0..255 with the training
/// file's minimum and maximum (the test file uses the same scaling, clipped): tabular features are quantised to
/// 8 bits. Labels are integers 0..254 used as they are, or strings mapped to class indices in ordinal order.
/// Records follow RFC 4180 (<see cref="CsvRecordReader"/>: quoted fields may hold delimiters, line breaks and escaped
/// quotes; CRLF, LF or CR end a record). Both files are read record by record twice (statistics, then output); no whole
/// file, and no record longer than <see cref="DatasetLimitsOptions.MaxCsvLineLength"/>, is held in memory.
/// Errors name the file's field (<c>data</c> or <c>testData</c>) and the 1-based line; rows, features and classes
/// are bounded by <see cref="DatasetLimitsOptions"/>, the IDX output by <see cref="DatasetLimitsOptions.MaxConvertedBytes"/>
/// while the rows are counted, before anything is written.
/// </summary>
public sealed class CsvFormat(IOptions<DatasetLimitsOptions> limitOptions) : IDatasetFormat
{
    private const string Delimiters = ",;\t";
    private static readonly string[] s_labelNames = ["label", "class", "target"];

    /// <summary>The file fields it reads: the training table and optionally a test table with the same columns.</summary>
    public static readonly IReadOnlyList<string> FileFields = ["data", "testData"];

    public string Name => DatasetFormats.Csv;

    public bool Converts => true;

    public bool Handles(string format, IReadOnlyCollection<string> files) => format == Name;

    public void CheckFiles(Rules rules, IReadOnlyCollection<string> files)
    {
        foreach (string field in files.Where(f => !FileFields.Contains(f)))
        {
            rules.Add(field, $"is not a file of format '{Name}'; send {string.Join(", ", FileFields)}.");
        }
        if (!files.Contains("data"))
        {
            rules.Add("data", "is required (a CSV file: feature columns and one label column).");
        }
    }

    public async Task<ConvertedDataset> ConvertAsync(StagedDataset upload, DatasetFormatOptions options, CancellationToken cancellationToken)
    {
        Dictionary<string, StagedFile> files = await upload.DecodeAsync(cancellationToken);
        static Func<TextReader> Open(StagedFile file) =>
            () => new StreamReader(new FileStream(file.TempPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite), detectEncodingFromByteOrderMarks: true);
        var converted = new Dictionary<string, StagedFile>(StringComparer.Ordinal)
        {
            ["images"] = upload.Stage(),
            ["labels"] = upload.Stage(),
        };
        bool hasTest = files.TryGetValue("testData", out StagedFile? testData);
        if (hasTest)
        {
            converted["testImages"] = upload.Stage();
            converted["testLabels"] = upload.Stage();
        }
        CsvConversion conversion = Convert(Open(files["data"]), hasTest ? Open(testData!) : null, options.Csv, limitOptions.Value,
            converted["images"].Stream, converted["labels"].Stream,
            hasTest ? converted["testImages"].Stream : null, hasTest ? converted["testLabels"].Stream : null, cancellationToken);
        return new ConvertedDataset(StagedDataset.Flush(converted), conversion.ClassNames);
    }

    /// <summary>Reads <paramref name="openTrain"/> (and <paramref name="openTest"/>) and writes IDX images and labels.</summary>
    public static CsvConversion Convert(
        Func<TextReader> openTrain, Func<TextReader>? openTest, CsvFormatOptions options, DatasetLimitsOptions limits,
        Stream trainImages, Stream trainLabels, Stream? testImages, Stream? testLabels, CancellationToken cancellationToken = default)
    {
        Layout layout;
        using (TextReader reader = openTrain())
        {
            layout = DetectLayout(new CsvRecordReader(reader, "data", limits.MaxCsvLineLength, Delimiters), options, limits);
        }
        Statistics train;
        using (TextReader reader = openTrain())
        {
            train = Scan(Records(reader, "data", layout, limits), layout, "data", null, limits, 0, cancellationToken);
        }
        if (train.Count == 0)
        {
            throw new DomainValidationException("data", layout.HasHeader ? "line 1: has a header but no data rows." : "is empty.");
        }
        Func<string, int?> classOf = LabelMapping(train.Labels, out int classes, out IReadOnlyList<string>? names);
        if (train.Labels.Count < 2)
        {
            throw new DomainValidationException("data", $"has a single class ('{train.Labels.First()}' in column '{layout.ColumnName(layout.Label)}'); at least two are needed.");
        }
        if (classes > limits.MaxClasses)
        {
            // Integer labels are their own class, so label 200 alone makes 201 classes.
            throw new DomainValidationException("data",
                $"has labels up to {classes - 1}, that is {classes} classes; {DatasetLimitsOptions.Describe(limits.MaxClasses, nameof(limits.MaxClasses))}.");
        }
        Statistics? test = null;
        if (openTest is not null)
        {
            using TextReader reader = openTest();
            test = Scan(Records(reader, "testData", layout, limits), layout, "testData", train, limits, Converted(train.Count, layout), cancellationToken);
            if (test.Count == 0)
            {
                throw new DomainValidationException("testData", "has no data rows.");
            }
            foreach (string label in test.Labels)
            {
                if (classOf(label) is null)
                {
                    throw new DomainValidationException("testData", $"line {test.FirstLine[label]}: label '{label}' does not occur in the training data (classes: {Describe(train.Labels, classes, names)}).");
                }
            }
        }

        int features = layout.Columns - 1;
        using (TextReader reader = openTrain())
        {
            Write(Records(reader, "data", layout, limits), layout, train, train.Count, classOf, trainImages, trainLabels, cancellationToken);
        }
        if (test is not null && openTest is not null)
        {
            using TextReader reader = openTest();
            Write(Records(reader, "testData", layout, limits), layout, train, test.Count, classOf, testImages!, testLabels!, cancellationToken);
        }
        return new CsvConversion([features], classes, train.Count, test?.Count ?? 0, names);
    }

    private static CsvRecordReader Records(TextReader reader, string field, Layout layout, DatasetLimitsOptions limits) =>
        new(reader, field, limits.MaxCsvLineLength, layout.Delimiter.ToString());

    /// <summary>IDX bytes <paramref name="rows"/> rows convert to: one byte per feature and one per label.</summary>
    private static long Converted(long rows, Layout layout) => rows * layout.Columns;

    private static string Describe(HashSet<string> labels, int classes, IReadOnlyList<string>? names) =>
        names is null ? $"0..{classes - 1}" : string.Join(", ", names.Take(10)) + (names.Count > 10 ? ", …" : "");

    /// <summary>Integer labels (all 0..254) are their own class; otherwise labels are sorted ordinally.</summary>
    private static Func<string, int?> LabelMapping(HashSet<string> labels, out int classes, out IReadOnlyList<string>? names)
    {
        if (labels.All(l => int.TryParse(l, NumberStyles.None, CultureInfo.InvariantCulture, out int v) && v < DatasetLimitsOptions.ClassCeiling))
        {
            classes = labels.Max(l => int.Parse(l, CultureInfo.InvariantCulture)) + 1;
            names = null;
            int count = classes;
            return l => int.TryParse(l, NumberStyles.None, CultureInfo.InvariantCulture, out int v) && v < count ? v : null;
        }
        string[] sorted = labels.Order(StringComparer.Ordinal).ToArray();
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < sorted.Length; i++)
        {
            index[sorted[i]] = i;
        }
        classes = sorted.Length;
        names = sorted;
        return l => index.TryGetValue(l, out int i) ? i : null;
    }

    private sealed record Layout(char Delimiter, bool HasHeader, string[]? Header, int Columns, int Label)
    {
        public string ColumnName(int column) => Header is null ? column.ToString(CultureInfo.InvariantCulture) : Header[column];
    }

    private sealed class Statistics(int columns)
    {
        public int Count;
        public readonly double[] Min = Enumerable.Repeat(double.PositiveInfinity, columns).ToArray();
        public readonly double[] Max = Enumerable.Repeat(double.NegativeInfinity, columns).ToArray();
        public readonly HashSet<string> Labels = new(StringComparer.Ordinal);
        public readonly Dictionary<string, int> FirstLine = new(StringComparer.Ordinal);
    }

    private static Layout DetectLayout(CsvRecordReader reader, CsvFormatOptions options, DatasetLimitsOptions limits)
    {
        (string? first, int firstLine) = reader.Next();
        if (first is null)
        {
            throw new DomainValidationException("data", "is empty.");
        }
        char delimiter = Delimiters.MaxBy(d => CsvRecordReader.CountDelimiters(first, d));
        if (CsvRecordReader.CountDelimiters(first, delimiter) == 0)
        {
            throw new DomainValidationException("data", $"line {firstLine}: has a single column; separate the features and the label with ',', ';' or a tab.");
        }
        string[] cells = CsvRecordReader.Split(first, delimiter, "data", firstLine);
        bool hasHeader;
        if (options.HasHeader is { } declared)
        {
            hasHeader = declared;
        }
        else
        {
            // A header has a non-numeric cell where the next row is numeric, or names a label column.
            (string? second, int secondLine) = reader.Next();
            string[]? next = second is null ? null : CsvRecordReader.Split(second, delimiter, "data", secondLine);
            hasHeader = cells.Any(c => s_labelNames.Contains(c, StringComparer.OrdinalIgnoreCase))
                || cells.Select((c, i) => !IsNumber(c) && (next is null || (i < next.Length && IsNumber(next[i])))).Any(b => b);
        }
        string[]? header = hasHeader ? cells : null;
        int columns = cells.Length;
        if (columns - 1 > limits.MaxFeatures)
        {
            throw new DomainValidationException("data",
                $"line {firstLine}: has {columns - 1} feature columns; {DatasetLimitsOptions.Describe(limits.MaxFeatures, nameof(limits.MaxFeatures))}.");
        }

        int label;
        if (options.LabelColumn is { Length: > 0 } wanted)
        {
            if (int.TryParse(wanted, NumberStyles.None, CultureInfo.InvariantCulture, out int index))
            {
                label = index < columns ? index
                    : throw Missing($"line {firstLine}: has {columns} columns, so there is no label column {index} (0-based).");
            }
            else if (header is null)
            {
                throw Missing($"line {firstLine}: has no header, so label column '{wanted}' must be given as a 0-based index.");
            }
            else
            {
                label = Array.FindIndex(header, h => string.Equals(h, wanted, StringComparison.OrdinalIgnoreCase));
                if (label < 0)
                {
                    throw Missing($"line {firstLine}: has no column named '{wanted}' (columns: {string.Join(", ", header)}).");
                }
            }
        }
        else
        {
            label = header is null ? 0 : Math.Max(0, Array.FindIndex(header, h => s_labelNames.Contains(h, StringComparer.OrdinalIgnoreCase)));
        }
        return new Layout(delimiter, hasHeader, header, columns, label);

        static DomainValidationException Missing(string message) =>
            new([new ValidationError("data", message), new ValidationError("labelColumn", message)]);
    }

    /// <param name="convertedBefore">IDX bytes the splits read before this one convert to (the training split's, for the test split).</param>
    private static Statistics Scan(CsvRecordReader reader, Layout layout, string field, Statistics? train, DatasetLimitsOptions limits,
        long convertedBefore, CancellationToken cancellationToken)
    {
        var stats = new Statistics(layout.Columns);
        bool first = true;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            (string? text, int line) = reader.Next();
            if (text is null)
            {
                return stats;
            }
            string[] cells = CsvRecordReader.Split(text, layout.Delimiter, field, line);
            if (cells.Length != layout.Columns)
            {
                throw new DomainValidationException(field, $"line {line}: has {cells.Length} columns; expected {layout.Columns} (delimiter '{Show(layout.Delimiter)}').");
            }
            if (first && layout.HasHeader)
            {
                first = false;
                if (train is not null && !cells.SequenceEqual(layout.Header!, StringComparer.OrdinalIgnoreCase))
                {
                    throw new DomainValidationException(field, $"line {line}: has columns {string.Join(", ", cells)}; the training data has {string.Join(", ", layout.Header!)}.");
                }
                continue;
            }
            first = false;
            if (++stats.Count > limits.MaxSamples)
            {
                throw new DomainValidationException(field,
                    $"line {line}: has more than {limits.MaxSamples} rows; {DatasetLimitsOptions.Describe(limits.MaxSamples, nameof(limits.MaxSamples))}.");
            }
            // Checked while counting, before anything is written: the output grows by a row of features and a label per row.
            if (convertedBefore + Converted(stats.Count, layout) > limits.MaxConvertedBytes)
            {
                throw new DomainValidationException(field,
                    $"line {line}: converts to more than {limits.MaxConvertedBytes} bytes ({stats.Count} rows of {layout.Columns - 1} features and a label{(convertedBefore > 0 ? ", after the training data's" : "")}); "
                    + $"{DatasetLimitsOptions.Describe(limits.MaxConvertedBytes, nameof(limits.MaxConvertedBytes))}.");
            }
            for (int c = 0; c < cells.Length; c++)
            {
                if (c == layout.Label)
                {
                    if (cells[c].Length == 0)
                    {
                        throw new DomainValidationException(field, $"line {line}: the label (column '{layout.ColumnName(c)}') is empty.");
                    }
                    if (stats.Labels.Add(cells[c]))
                    {
                        stats.FirstLine[cells[c]] = line;
                        if (stats.Labels.Count > limits.MaxClasses)
                        {
                            throw new DomainValidationException(field,
                                $"line {line}: has more than {limits.MaxClasses} classes; {DatasetLimitsOptions.Describe(limits.MaxClasses, nameof(limits.MaxClasses))}.");
                        }
                    }
                    continue;
                }
                if (!TryParse(cells[c], out double value))
                {
                    throw new DomainValidationException(field, $"line {line}: column '{layout.ColumnName(c)}' has '{cells[c]}', which is not a finite number.");
                }
                stats.Min[c] = Math.Min(stats.Min[c], value);
                stats.Max[c] = Math.Max(stats.Max[c], value);
            }
        }
    }

    private static void Write(CsvRecordReader reader, Layout layout, Statistics scaling, int count, Func<string, int?> classOf, Stream images, Stream labels,
        CancellationToken cancellationToken)
    {
        int features = layout.Columns - 1;
        Idx.WriteHeader(images, count, features);
        Idx.WriteHeader(labels, count);
        var row = new byte[features];
        bool first = true;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            (string? text, int line) = reader.Next();
            if (text is null)
            {
                break;
            }
            if (first && layout.HasHeader)
            {
                first = false;
                continue;
            }
            first = false;
            string[] cells = CsvRecordReader.Split(text, layout.Delimiter, "data", line);
            int f = 0;
            for (int c = 0; c < cells.Length; c++)
            {
                if (c == layout.Label)
                {
                    labels.WriteByte((byte)classOf(cells[c])!.Value);
                    continue;
                }
                TryParse(cells[c], out double value);
                double range = scaling.Max[c] - scaling.Min[c];
                double scaled = range > 0 ? (value - scaling.Min[c]) / range * 255 : 0;
                row[f++] = (byte)Math.Clamp(Math.Round(scaled), 0, 255);
            }
            images.Write(row);
        }
    }

    private static bool IsNumber(string cell) => double.TryParse(cell, NumberStyles.Float, CultureInfo.InvariantCulture, out _);

    private static bool TryParse(string cell, out double value) =>
        double.TryParse(cell, NumberStyles.Float, CultureInfo.InvariantCulture, out value) && double.IsFinite(value);

    private static string Show(char delimiter) => delimiter == '\t' ? "\\t" : delimiter.ToString();
}

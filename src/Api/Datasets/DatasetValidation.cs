using Infrastructure.Artifacts;
using Infrastructure.Datasets;

namespace Api.Datasets;

/// <summary>
/// The checks every upload passes once its format has produced IDX files: the name, the format, which files were sent,
/// then each split's headers, exact lengths and limits, the image/label counts, the classes and the test split's shape.
/// Errors name the upload's fields.
/// </summary>
internal static class DatasetValidation
{
    public const int MaxNameLength = 200;

    /// <summary>A valid upload: its name, the training split, the optional test split and the class count.</summary>
    public sealed record Result(string Name, IdxSplit Train, IdxSplit? Test, int Classes);

    public static string CheckName(Rules rules, IReadOnlyDictionary<string, string> fields)
    {
        string name = fields.GetValueOrDefault("name")?.Trim() ?? "";
        if (name.Length == 0)
        {
            rules.Add("name", "is required.");
        }
        else if (name.Length > MaxNameLength)
        {
            rules.Add("name", $"must be at most {MaxNameLength} characters (was {name.Length}).");
        }
        return name;
    }

    /// <summary>Checks the converted files of an upload of <paramref name="format"/>; throws <see cref="DomainValidationException"/> naming every bad field.</summary>
    public static Result Validate(IReadOnlyDictionary<string, string> fields, string format, IReadOnlyDictionary<string, StagedFile> files, DatasetLimitsOptions limits)
    {
        var rules = new Rules();
        string name = CheckName(rules, fields);
        rules.OneOf("format", format, DatasetFormats.All);
        foreach (string field in files.Keys.Where(f => format == DatasetFormats.Idx && !IdxFormat.FileFields.Contains(f)))
        {
            rules.Add(field, $"is not a file of format 'idx'; send {string.Join(", ", IdxFormat.FileFields)}.");
        }
        foreach (string required in new[] { "images", "labels" })
        {
            if (!files.ContainsKey(required))
            {
                rules.Add(required, "is required (an IDX file, raw or gzip).");
            }
        }
        if (files.ContainsKey("testImages") != files.ContainsKey("testLabels"))
        {
            rules.Add(files.ContainsKey("testImages") ? "testLabels" : "testImages", "is required when the other test file is sent.");
        }
        rules.ThrowIfInvalid();

        IdxSplit train = ReadSplit(files["images"], files["labels"], "images", "labels", limits);
        IdxSplit? test = files.TryGetValue("testImages", out StagedFile? testImages)
            ? ReadSplit(testImages, files["testLabels"], "testImages", "testLabels", limits)
            : null;
        int classes = train.MaxLabel + 1;
        if (train.DistinctLabels < 2)
        {
            rules.Add("labels", "must contain at least two classes.");
        }
        if (classes > limits.MaxClasses)
        {
            rules.Add("labels", $"has labels up to {train.MaxLabel}, that is {classes} classes; {DatasetLimitsOptions.Describe(limits.MaxClasses, nameof(limits.MaxClasses))}.");
        }
        if (test is not null)
        {
            if (!test.Shape.SequenceEqual(train.Shape))
            {
                rules.Add("testImages", $"has samples of shape [{string.Join(", ", test.Shape)}]; the training images are [{string.Join(", ", train.Shape)}].");
            }
            if (test.MaxLabel >= classes)
            {
                rules.Add("testLabels", $"contains label {test.MaxLabel}, but the training labels only have classes 0..{classes - 1}.");
            }
        }
        rules.ThrowIfInvalid();
        return new Result(name, train, test, classes);
    }

    /// <summary>A validated split; <see cref="ClassCounts"/> has one entry per possible label byte (256).</summary>
    public sealed record IdxSplit(int Count, int[] Shape, byte[] Labels, int[] ClassCounts)
    {
        public int MaxLabel => Array.FindLastIndex(ClassCounts, c => c > 0);

        public int DistinctLabels => ClassCounts.Count(c => c > 0);
    }

    /// <summary>Checks headers, exact lengths, the sample limit and the image/label count match; reads the labels for the class counts.</summary>
    private static IdxSplit ReadSplit(StagedFile images, StagedFile labels, string imagesField, string labelsField, DatasetLimitsOptions limits)
    {
        var rules = new Rules();
        IdxHeader imageHeader;
        using (var stream = new FileStream(images.TempPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite))
        {
            imageHeader = Idx.ReadHeader(stream, imagesField);
            CheckLength(rules, imagesField, imageHeader, stream.Length);
            if (imageHeader.Dimensions.Length < 2)
            {
                rules.Add(imagesField, "must have at least 2 dimensions (samples × features).");
            }
            if (imageHeader.Count > limits.MaxSamples)
            {
                rules.Add(imagesField, $"has {imageHeader.Count} samples; {DatasetLimitsOptions.Describe(limits.MaxSamples, nameof(limits.MaxSamples))}.");
            }
        }
        using var labelStream = new FileStream(labels.TempPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        IdxHeader labelHeader = Idx.ReadHeader(labelStream, labelsField);
        CheckLength(rules, labelsField, labelHeader, labelStream.Length);
        if (labelHeader.Dimensions.Length != 1)
        {
            rules.Add(labelsField, $"must be a 1-dimensional IDX file (had {labelHeader.Dimensions.Length} dimensions).");
        }
        if (rules.IsValid && labelHeader.Count != imageHeader.Count)
        {
            rules.Add(labelsField, $"has {labelHeader.Count} labels but {imagesField} has {imageHeader.Count} samples.");
        }
        rules.ThrowIfInvalid();

        var counts = new int[256];
        var buffer = new byte[labelHeader.Count];
        labelStream.ReadExactly(buffer);
        foreach (byte label in buffer)
        {
            counts[label]++;
        }
        return new IdxSplit(imageHeader.Count, imageHeader.SampleShape, buffer, counts);
    }

    private static void CheckLength(Rules rules, string field, IdxHeader header, long actual)
    {
        if (actual < header.ExpectedLength)
        {
            rules.Add(field, $"is truncated: its header declares {header.Count} samples of {header.SampleSize} bytes ({header.ExpectedLength} bytes in all) but it has {actual} bytes.");
        }
        else if (actual > header.ExpectedLength)
        {
            rules.Add(field, $"has {actual - header.ExpectedLength} bytes after the {header.Count} samples its header declares.");
        }
    }
}

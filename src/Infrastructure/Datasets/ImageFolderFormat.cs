using System.IO.Compression;
using Domain.Common;
using Infrastructure.Artifacts;
using Microsoft.Extensions.Options;
using SkiaSharp;

namespace Infrastructure.Datasets;

/// <summary>
/// Converts an image-folder ZIP into the IDX unsigned-byte layout the worker reads. The archive holds one
/// top-level folder per class (class index = folder names in ordinal order), or <c>train/</c> and <c>test/</c>
/// folders that each hold class folders. PNG and JPEG entries are decoded with SkiaSharp, resized to the declared
/// size and stored as grey ([h, w]) or planar RGB ([3, h, w]) bytes; an entry must be PNG or JPEG by its extension and
/// by its content, within <see cref="DatasetLimitsOptions.MaxSourcePixels"/>, and decode completely. Entry names with <c>..</c>, absolute paths or
/// backslashes, and archives or entries over the <see cref="DatasetLimitsOptions"/> (total and entry size, compression
/// ratio, file count) and output over <see cref="DatasetLimitsOptions.MaxConvertedBytes"/> (images × width × height × channels)
/// are refused before anything is decoded; the conversion stops at the next image when its cancellation token fires. Errors name the field <c>archive</c>.
/// </summary>
public sealed class ImageFolderFormat(IOptions<DatasetLimitsOptions> limitOptions) : IDatasetFormat
{
    private const string Field = "archive";
    private static readonly string[] s_extensions = [".png", ".jpg", ".jpeg"];

    public string Name => DatasetFormats.Zip;

    public bool Converts => true;

    public bool Handles(string format, IReadOnlyCollection<string> files) => format == Name;

    public void CheckFiles(Rules rules, IReadOnlyCollection<string> files)
    {
        foreach (string field in files.Where(f => f != Field))
        {
            rules.Add(field, $"is not a file of format '{Name}'; send {Field}.");
        }
        if (!files.Contains(Field))
        {
            rules.Add(Field, "is required (a ZIP of one image folder per class).");
        }
    }

    public async Task<ConvertedDataset> ConvertAsync(StagedDataset upload, DatasetFormatOptions options, CancellationToken cancellationToken)
    {
        Dictionary<string, StagedFile> files = await upload.DecodeAsync(cancellationToken);
        (int width, int height, int channels) = options.ImageFolder;
        var converted = new Dictionary<string, StagedFile>(StringComparer.Ordinal)
        {
            ["images"] = upload.Stage(),
            ["labels"] = upload.Stage(),
        };
        Result result = Convert(files[Field].TempPath, width, height, channels, limitOptions.Value,
            converted["images"].Stream, converted["labels"].Stream, () =>
            {
                converted["testImages"] = upload.Stage();
                converted["testLabels"] = upload.Stage();
                return (converted["testImages"].Stream, converted["testLabels"].Stream);
            }, cancellationToken);
        return new ConvertedDataset(StagedDataset.Flush(converted), result.ClassNames);
    }

    public sealed record Result(int[] Shape, int Classes, int Samples, int TestSamples, IReadOnlyList<string> ClassNames);

    private sealed record Image(ZipArchiveEntry Entry, string Class);

    public static Result Convert(string archivePath, int width, int height, int channels, DatasetLimitsOptions limits,
        Stream trainImages, Stream trainLabels, Func<(Stream Images, Stream Labels)> openTest, CancellationToken cancellationToken = default)
    {
        using var file = new FileStream(archivePath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        ZipArchive zip;
        try
        {
            zip = new ZipArchive(file, ZipArchiveMode.Read);
        }
        catch (InvalidDataException ex)
        {
            throw new DomainValidationException(Field, $"is not a valid ZIP archive: {ex.Message}");
        }
        using (zip)
        {
            (List<Image> train, List<Image> test) = List(zip, limits);
            string[] classes = train.Select(i => i.Class).Distinct().Order(StringComparer.Ordinal).ToArray();
            if (classes.Length < 2)
            {
                throw new DomainValidationException(Field, $"has {classes.Length} class folder{(classes.Length == 1 ? $" ('{classes[0]}')" : "s")}; at least two are needed, one folder of images per class.");
            }
            if (classes.Length > limits.MaxClasses)
            {
                throw new DomainValidationException(Field,
                    $"has {classes.Length} class folders; {DatasetLimitsOptions.Describe(limits.MaxClasses, nameof(limits.MaxClasses))}.");
            }
            foreach ((List<Image> split, string what) in new[] { (train, "training"), (test, "test") })
            {
                if (split.Count > limits.MaxSamples)
                {
                    throw new DomainValidationException(Field,
                        $"has {split.Count} {what} images; {DatasetLimitsOptions.Describe(limits.MaxSamples, nameof(limits.MaxSamples))}.");
                }
            }
            if (test.FirstOrDefault(i => Array.BinarySearch(classes, i.Class, StringComparer.Ordinal) < 0) is { } stray)
            {
                throw new DomainValidationException(Field, $"entry '{stray.Entry.FullName}': test class '{stray.Class}' has no training folder.");
            }
            // The output's size is known from the entry count and the declared size: refuse it before decoding anything.
            long converted = (long)(train.Count + test.Count) * (ConvertedSampleBytes(width, height, channels) + 1);
            if (converted > limits.MaxConvertedBytes)
            {
                throw new DomainValidationException(Field,
                    $"converts to {converted} bytes ({train.Count + test.Count} images of {width}×{height}×{channels} bytes and a label each); "
                    + $"{DatasetLimitsOptions.Describe(limits.MaxConvertedBytes, nameof(limits.MaxConvertedBytes))}. Send fewer images or a smaller width, height or channels.");
            }
            int[] shape = channels == 1 ? [height, width] : [3, height, width];
            Write(train, classes, width, height, channels, limits, trainImages, trainLabels, cancellationToken);
            if (test.Count > 0)
            {
                (Stream images, Stream labels) = openTest();
                Write(test, classes, width, height, channels, limits, images, labels, cancellationToken);
            }
            return new Result(shape, classes.Length, train.Count, test.Count, classes);
        }
    }

    private static long ConvertedSampleBytes(int width, int height, int channels) => (long)width * height * channels;

    /// <summary>A ZIP bomb guard for one entry of an <c>archive</c> upload (image folders or IDX files).</summary>
    internal static void CheckCompressionRatio(ZipArchiveEntry entry, DatasetLimitsOptions limits)
    {
        if (entry.Length > limits.MaxCompressionRatio * Math.Max(entry.CompressedLength, 1))
        {
            throw new DomainValidationException(Field,
                $"entry '{entry.FullName}' is compressed {entry.Length / Math.Max(entry.CompressedLength, 1)}:1; at most {limits.MaxCompressionRatio}:1 is accepted ({DatasetLimitsOptions.Key(nameof(limits.MaxCompressionRatio))}).");
        }
    }

    /// <summary>Checks every entry's name and size and sorts the images into the train and test splits.</summary>
    private static (List<Image> Train, List<Image> Test) List(ZipArchive zip, DatasetLimitsOptions limits)
    {
        var files = new List<(ZipArchiveEntry Entry, string[] Parts)>();
        long total = 0;
        foreach (ZipArchiveEntry entry in zip.Entries)
        {
            string name = entry.FullName;
            string[] parts = name.Split('/');
            if (name.Contains('\\') || name.StartsWith('/') || (name.Length > 1 && name[1] == ':') || parts.Any(p => p is ".." or "."))
            {
                throw new DomainValidationException(Field, $"entry '{name}' has an unsafe path (absolute, '..' or a backslash).");
            }
            total += entry.Length;
            if (total > limits.MaxUncompressedBytes)
            {
                throw new DomainValidationException(Field,
                    $"expands to more than {limits.MaxUncompressedBytes} bytes; {DatasetLimitsOptions.Describe(limits.MaxUncompressedBytes, nameof(limits.MaxUncompressedBytes))}.");
            }
            if (entry.Length > limits.MaxZipEntryBytes)
            {
                throw new DomainValidationException(Field,
                    $"entry '{name}' is {entry.Length} bytes; images of at most {limits.MaxZipEntryBytes} bytes are accepted ({DatasetLimitsOptions.Key(nameof(limits.MaxZipEntryBytes))}).");
            }
            CheckCompressionRatio(entry, limits);
            if (name.EndsWith('/') || parts.Any(p => p.StartsWith('.') || p == "__MACOSX"))
            {
                continue; // folders and hidden files (.DS_Store, __MACOSX)
            }
            files.Add((entry, parts));
        }
        if (files.Count == 0)
        {
            throw new DomainValidationException(Field, "is empty: it has no image files.");
        }
        if (files.Count > limits.MaxZipEntries)
        {
            throw new DomainValidationException(Field,
                $"has {files.Count} files; {DatasetLimitsOptions.Describe(limits.MaxZipEntries, nameof(limits.MaxZipEntries))}.");
        }
        bool split = files.All(f => f.Parts.Length >= 3 && f.Parts[0] is "train" or "test") && files.Any(f => f.Parts[0] == "train");
        var train = new List<Image>();
        var test = new List<Image>();
        foreach ((ZipArchiveEntry entry, string[] parts) in files.OrderBy(f => f.Entry.FullName, StringComparer.Ordinal))
        {
            int depth = split ? 1 : 0;
            if (parts.Length < depth + 2)
            {
                throw new DomainValidationException(Field, $"entry '{entry.FullName}' is not inside a class folder; put each image under <class>/ (or train/<class>/ and test/<class>/).");
            }
            if (!s_extensions.Contains(Path.GetExtension(entry.Name), StringComparer.OrdinalIgnoreCase))
            {
                throw new DomainValidationException(Field, $"entry '{entry.FullName}' is not a supported image; PNG and JPEG (.png, .jpg, .jpeg) are.");
            }
            (split && parts[0] == "test" ? test : train).Add(new Image(entry, parts[depth]));
        }
        return (train, test);
    }

    private static void Write(List<Image> images, string[] classes, int width, int height, int channels, DatasetLimitsOptions limits,
        Stream output, Stream labels, CancellationToken cancellationToken)
    {
        if (channels == 1)
        {
            Idx.WriteHeader(output, images.Count, height, width);
        }
        else
        {
            Idx.WriteHeader(output, images.Count, 3, height, width);
        }
        Idx.WriteHeader(labels, images.Count);
        var plane = height * width;
        var sample = new byte[plane * channels];
        var info = new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        foreach (Image image in images)
        {
            // A client that goes away stops the conversion at the next image.
            cancellationToken.ThrowIfCancellationRequested();
            using SKBitmap decoded = Decode(image.Entry, limits);
            using SKBitmap resized = decoded.Resize(info, new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.Linear))
                ?? throw new DomainValidationException(Field, $"entry '{image.Entry.FullName}' could not be resized to {width}×{height}.");
            ReadOnlySpan<byte> rgba = resized.GetPixelSpan();
            for (int p = 0; p < plane; p++)
            {
                byte r = rgba[4 * p], g = rgba[4 * p + 1], b = rgba[4 * p + 2];
                if (channels == 1)
                {
                    sample[p] = (byte)Math.Clamp(Math.Round(0.299 * r + 0.587 * g + 0.114 * b), 0, 255);
                }
                else
                {
                    sample[p] = r;
                    sample[plane + p] = g;
                    sample[2 * plane + p] = b;
                }
            }
            output.Write(sample);
            labels.WriteByte((byte)Array.BinarySearch(classes, image.Class, StringComparer.Ordinal));
        }
    }

    /// <summary>
    /// The entry's image, decoded completely. Refused, naming the entry: bytes SkiaSharp cannot read, any format but PNG
    /// and JPEG whatever the extension says, a declared size over <see cref="DatasetLimitsOptions.MaxSourcePixels"/>
    /// (read from the header before any pixel memory is allocated), and any decode that does not succeed entirely
    /// (<see cref="SKCodecResult.IncompleteInput"/> is a truncated file, which <see cref="SKBitmap.Decode(SKCodec)"/> would
    /// return partly filled).
    /// </summary>
    private static SKBitmap Decode(ZipArchiveEntry entry, DatasetLimitsOptions limits)
    {
        string name = entry.FullName;
        byte[] bytes;
        try
        {
            using Stream content = entry.Open();
            // Read at most the declared size (+1 to notice more): a forged header cannot expand past the checks above.
            bytes = new byte[(int)Math.Min(entry.Length + 1, int.MaxValue)];
            int read = 0, n;
            while (read < bytes.Length && (n = content.Read(bytes, read, bytes.Length - read)) > 0)
            {
                read += n;
            }
            if (read > entry.Length)
            {
                throw new DomainValidationException(Field, $"entry '{name}' expands past its declared size of {entry.Length} bytes.");
            }
            Array.Resize(ref bytes, read);
        }
        catch (InvalidDataException ex)
        {
            throw new DomainValidationException(Field, $"entry '{name}' is corrupt: {ex.Message}");
        }
        using var data = SKData.CreateCopy(bytes);
        using SKCodec codec = Create(data)
            ?? throw new DomainValidationException(Field, $"entry '{name}' could not be decoded as a PNG or JPEG image.");
        if (codec.EncodedFormat is not (SKEncodedImageFormat.Png or SKEncodedImageFormat.Jpeg))
        {
            throw new DomainValidationException(Field,
                $"entry '{name}' is a {codec.EncodedFormat.ToString().ToUpperInvariant()} image; only PNG and JPEG images are accepted, whatever the file extension.");
        }
        SKImageInfo info = codec.Info;
        long pixels = (long)info.Width * info.Height;
        if (pixels > limits.MaxSourcePixels)
        {
            throw new DomainValidationException(Field,
                $"entry '{name}' is {info.Width}×{info.Height} = {pixels} pixels; {DatasetLimitsOptions.Describe(limits.MaxSourcePixels, nameof(limits.MaxSourcePixels))}.");
        }
        // The bitmap SKBitmap.Decode(SKCodec) would make (premultiplied, no colour space), so accepted images decode as before.
        if (info.AlphaType == SKAlphaType.Unpremul)
        {
            info.AlphaType = SKAlphaType.Premul;
        }
        info.ColorSpace = null;
        var bitmap = new SKBitmap(info);
        SKCodecResult result = codec.GetPixels(info, bitmap.GetPixels());
        if (result != SKCodecResult.Success)
        {
            bitmap.Dispose();
            throw new DomainValidationException(Field, result == SKCodecResult.IncompleteInput
                ? $"entry '{name}' could not be decoded: the {codec.EncodedFormat.ToString().ToUpperInvariant()} image is truncated (its data ends before the last pixel row)."
                : $"entry '{name}' could not be decoded as a PNG or JPEG image ({result}).");
        }
        return bitmap;

        static SKCodec? Create(SKData data)
        {
            try
            {
                return SKCodec.Create(data);
            }
            catch (Exception ex) when (ex is ArgumentException or InvalidOperationException)
            {
                return null;
            }
        }
    }
}

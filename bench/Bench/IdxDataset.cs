using System.IO.Compression;
using Domain.Datasets;
using Training.Engine;

namespace Bench;

/// <summary>
/// Loads an MNIST-layout IDX folder (<c>train-images-idx3-ubyte[.gz]</c>, <c>train-labels-idx1-ubyte[.gz]</c>,
/// <c>t10k-*</c>), e.g. Fashion-MNIST (Xiao, Rasul and Vollgraf 2017, github.com/zalandoresearch/fashion-mnist, MIT).
/// Pixels are scaled to [0, 1]; the header is parsed by <see cref="Idx.ReadHeader"/>.
/// </summary>
internal static class IdxDataset
{
    public static (LabeledData Train, LabeledData Test) Load(string folder)
    {
        LabeledData train = LoadSplit(folder, "train");
        LabeledData test = LoadSplit(folder, "t10k");
        int classes = Math.Max(train.Classes, test.Classes);
        return (new LabeledData(train.Features, train.Labels, train.SampleShape, classes),
                new LabeledData(test.Features, test.Labels, test.SampleShape, classes));
    }

    private static LabeledData LoadSplit(string folder, string prefix)
    {
        var (imageShape, pixels) = Read(Find(folder, $"{prefix}-images"));
        var (labelShape, labels) = Read(Find(folder, $"{prefix}-labels"));
        if (labelShape.Length != 1 || labelShape[0] != imageShape[0])
        {
            throw new InvalidDataException($"{prefix}: {labelShape[0]} labels for {imageShape[0]} images.");
        }
        int[] sampleShape = imageShape[1..];
        var features = new float[pixels.Length];
        for (int i = 0; i < pixels.Length; i++)
        {
            features[i] = pixels[i] / 255f;
        }
        int[] classLabels = labels.Select(b => (int)b).ToArray();
        return new LabeledData(features, classLabels, sampleShape, classLabels.Max() + 1);
    }

    private static string Find(string folder, string stem)
    {
        string? path = Directory.EnumerateFiles(folder, stem + "*").OrderBy(p => p.Length).FirstOrDefault();
        return path ?? throw new FileNotFoundException($"No {stem}* file in {folder}.");
    }

    private static (int[] Shape, byte[] Data) Read(string path)
    {
        using Stream file = File.OpenRead(path);
        using Stream stream = path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? new GZipStream(file, CompressionMode.Decompress) : file;
        IdxHeader header = Idx.ReadHeader(stream, Path.GetFileName(path));
        int[] shape = header.Dimensions.ToArray();
        long count = shape.Aggregate(1L, (a, b) => a * b);
        var data = new byte[count];
        stream.ReadExactly(data);
        return (shape, data);
    }
}

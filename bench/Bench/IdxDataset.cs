using Domain.Datasets;
using Training.Engine;

namespace Bench;

/// <summary>
/// Loads an MNIST-layout IDX folder (<c>train-images-idx3-ubyte[.gz]</c>, <c>train-labels-idx1-ubyte[.gz]</c>,
/// <c>t10k-*</c>), e.g. Fashion-MNIST (Xiao, Rasul and Vollgraf 2017, github.com/zalandoresearch/fashion-mnist, MIT).
/// Pixels are scaled to [0, 1]; the files (raw or gzip) are read by <see cref="Idx.ReadFile"/>.
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
        IdxData images = Idx.ReadFile(Find(folder, $"{prefix}-images"));
        IdxData labels = Idx.ReadFile(Find(folder, $"{prefix}-labels"));
        if (labels.Header.Dimensions.Length != 1 || labels.Header.Count != images.Header.Count)
        {
            throw new InvalidDataException($"{prefix}: {labels.Header.Count} labels for {images.Header.Count} images.");
        }
        int[] classLabels = labels.ToInt32();
        return new LabeledData(images.ToUnitFloats(), classLabels, images.Header.SampleShape, classLabels.Max() + 1);
    }

    private static string Find(string folder, string stem)
    {
        string? path = Directory.EnumerateFiles(folder, stem + "*").OrderBy(p => p.Length).FirstOrDefault();
        return path ?? throw new FileNotFoundException($"No {stem}* file in {folder}.");
    }
}

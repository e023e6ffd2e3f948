using Domain.Common;
using Infrastructure.Artifacts;
using Training.Engine;

namespace Worker.Datasets;

/// <summary>Reads a stored dataset into memory as <see cref="LabeledData"/> train and test splits.</summary>
public sealed class DatasetLoader(IArtifactStore store)
{
    public (LabeledData Train, LabeledData Test) Load(Dataset dataset)
    {
        (float[] features, int[] labels) = Read(dataset, DatasetLayout.TrainImages, DatasetLayout.TrainLabels);
        if (dataset.TestSamples > 0)
        {
            (float[] testFeatures, int[] testLabels) = Read(dataset, DatasetLayout.TestImages, DatasetLayout.TestLabels);
            return (new LabeledData(features, labels, dataset.Shape, dataset.Classes),
                new LabeledData(testFeatures, testLabels, dataset.Shape, dataset.Classes));
        }
        return Holdout(features, labels, dataset);
    }

    /// <summary>
    /// Splits off <see cref="DatasetLayout.HoldoutFraction"/> as the test set with a permutation seeded by the
    /// content hash, so every run of the same dataset sees the same split.
    /// </summary>
    private static (LabeledData Train, LabeledData Test) Holdout(float[] features, int[] labels, Dataset dataset)
    {
        int n = labels.Length;
        int testCount = Math.Max(1, (int)Math.Round(n * DatasetLayout.HoldoutFraction));
        if (testCount >= n)
        {
            throw new DomainValidationException("datasetId", $"has {n} samples: too few to hold out a test split.");
        }
        int[] order = Enumerable.Range(0, n).ToArray();
        new Random(Convert.ToInt32(dataset.ContentHash[..7], 16)).Shuffle(order);
        int size = features.Length / n;
        LabeledData Take(ReadOnlySpan<int> indices)
        {
            var x = new float[indices.Length * size];
            var y = new int[indices.Length];
            for (int i = 0; i < indices.Length; i++)
            {
                Array.Copy(features, (long)indices[i] * size, x, (long)i * size, size);
                y[i] = labels[indices[i]];
            }
            return new LabeledData(x, y, dataset.Shape, dataset.Classes);
        }
        return (Take(order.AsSpan(testCount)), Take(order.AsSpan(0, testCount)));
    }

    private (float[] Features, int[] Labels) Read(Dataset dataset, string imagesFile, string labelsFile)
    {
        float[] features;
        using (Stream images = store.OpenRead($"{dataset.ArtifactPath}/{imagesFile}"))
        {
            features = Idx.Read(images, imagesFile).ToUnitFloats();
        }
        using Stream labels = store.OpenRead($"{dataset.ArtifactPath}/{labelsFile}");
        return (features, Idx.Read(labels, labelsFile).ToInt32());
    }
}

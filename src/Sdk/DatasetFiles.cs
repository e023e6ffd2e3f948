namespace TrainingService.Sdk;

/// <summary>
/// The files of an IDX dataset (raw or gzip): training images and labels, optionally a test split.
/// The streams are read once from their current position and are not disposed by the client.
/// </summary>
/// <param name="Images">Training images (IDX, samples × features…).</param>
/// <param name="Labels">Training labels (IDX, one byte per sample).</param>
/// <param name="TestImages">Test images, or null to let the worker hold out 20% of the training samples.</param>
/// <param name="TestLabels">Test labels; required exactly when <paramref name="TestImages"/> is given.</param>
public sealed record DatasetFiles(Stream Images, Stream Labels, Stream? TestImages = null, Stream? TestLabels = null) : IDisposable
{
    private static readonly (string Prefix, DatasetFile File)[] s_idxNames =
    [
        ("train-images", DatasetFile.Images), ("train-labels", DatasetFile.Labels),
        ("t10k-images", DatasetFile.TestImages), ("t10k-labels", DatasetFile.TestLabels),
        ("test-images", DatasetFile.TestImages), ("test-labels", DatasetFile.TestLabels),
    ];

    private bool _owned;

    /// <summary>
    /// Opens the files of a folder laid out like MNIST: <c>train-images*</c>, <c>train-labels*</c> and
    /// optionally <c>t10k-images*</c>/<c>t10k-labels*</c> (or <c>test-*</c>), each raw or <c>.gz</c>.
    /// Dispose the result to close them.
    /// </summary>
    /// <exception cref="FileNotFoundException">The training images or labels are missing.</exception>
    public static DatasetFiles FromIdxFolder(string folder)
    {
        var found = new Dictionary<DatasetFile, string>();
        foreach (string path in Directory.EnumerateFiles(folder).Order(StringComparer.Ordinal))
        {
            string name = Path.GetFileName(path);
            foreach ((string prefix, DatasetFile file) in s_idxNames)
            {
                if (name.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
                {
                    found.TryAdd(file, path);
                }
            }
        }
        string Require(DatasetFile file) => found.GetValueOrDefault(file)
            ?? throw new FileNotFoundException($"No {file} file (train-images*/train-labels*) in '{folder}'.");
        string images = Require(DatasetFile.Images);
        string labels = Require(DatasetFile.Labels);
        bool hasTest = found.ContainsKey(DatasetFile.TestImages) && found.ContainsKey(DatasetFile.TestLabels);
        return new DatasetFiles(
            File.OpenRead(images), File.OpenRead(labels),
            hasTest ? File.OpenRead(found[DatasetFile.TestImages]) : null,
            hasTest ? File.OpenRead(found[DatasetFile.TestLabels]) : null)
        { _owned = true };
    }

    /// <summary>Total bytes to send when every stream can tell its length; otherwise null.</summary>
    public long? TotalBytes
    {
        get
        {
            long total = 0;
            foreach ((_, Stream stream) in Parts())
            {
                if (!stream.CanSeek)
                {
                    return null;
                }
                total += stream.Length - stream.Position;
            }
            return total;
        }
    }

    internal IEnumerable<(DatasetFile File, Stream Stream)> Parts()
    {
        yield return (DatasetFile.Images, Images);
        yield return (DatasetFile.Labels, Labels);
        if (TestImages is not null)
        {
            yield return (DatasetFile.TestImages, TestImages);
        }
        if (TestLabels is not null)
        {
            yield return (DatasetFile.TestLabels, TestLabels);
        }
    }

    /// <summary>Closes the streams when this instance opened them (<see cref="FromIdxFolder"/>); otherwise does nothing.</summary>
    public void Dispose()
    {
        if (_owned)
        {
            foreach ((_, Stream stream) in Parts())
            {
                stream.Dispose();
            }
        }
    }
}

/// <summary>Progress of an upload.</summary>
/// <param name="SentBytes">Bytes sent so far.</param>
/// <param name="TotalBytes">Bytes in all, when known.</param>
public readonly record struct UploadProgress(long SentBytes, long? TotalBytes);

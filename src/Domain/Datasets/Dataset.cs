namespace Domain.Datasets;

/// <summary>An uploaded, validated dataset. Its files live in the artifact store under <see cref="ArtifactPath"/>.</summary>
public sealed class Dataset : Tenants.ITenantOwned
{
    public Guid Id { get; set; }

    public Guid TenantId { get; set; }

    public required string Name { get; set; }

    /// <summary>Upload format: <c>idx</c>, <c>csv</c> or <c>zip</c> (see <see cref="DatasetFormats"/>).</summary>
    public required string Format { get; set; }

    /// <summary>Per-sample shape, e.g. [28, 28].</summary>
    public int[] Shape { get; set; } = [];

    public int Classes { get; set; }

    /// <summary>Training samples per class (index = class); the class balance.</summary>
    public int[] ClassCounts { get; set; } = [];

    /// <summary>Test samples per class of an uploaded test split; empty when the worker holds out part of the training samples.</summary>
    public int[] TestClassCounts { get; set; } = [];

    /// <summary>Training samples.</summary>
    public int Samples { get; set; }

    /// <summary>Samples of an uploaded test split; 0 means the worker holds out <see cref="DatasetLayout.HoldoutFraction"/> of the training samples.</summary>
    public int TestSamples { get; set; }

    /// <summary>sha256 (hex) over the decoded content of every file, in a fixed order.</summary>
    public required string ContentHash { get; set; }

    /// <summary>Folder of the dataset's files, relative to the artifact store root.</summary>
    public required string ArtifactPath { get; set; }

    public long SizeBytes { get; set; }

    public DateTime CreatedAt { get; set; }
}

/// <summary>File names and split rules shared by the upload path and the worker.</summary>
public static class DatasetLayout
{
    public const string TrainImages = "train-images.idx";
    public const string TrainLabels = "train-labels.idx";
    public const string TestImages = "test-images.idx";
    public const string TestLabels = "test-labels.idx";

    /// <summary>Share of training samples held out as the test split when none was uploaded.</summary>
    public const double HoldoutFraction = 0.2;
}

/// <summary>Upload formats. <c>csv</c> and <c>zip</c> (image folders) are converted at upload into the IDX layout, so the worker reads one layout.</summary>
public static class DatasetFormats
{
    public const string Idx = "idx";
    public const string Csv = "csv";
    public const string Zip = "zip";
    public static readonly string[] All = [Idx, Csv, Zip];
}

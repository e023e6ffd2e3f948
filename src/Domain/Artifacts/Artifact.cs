namespace Domain.Artifacts;

/// <summary>A file in the artifact store: a dataset file, a checkpoint or an exported model.</summary>
public sealed class Artifact
{
    public Guid Id { get; set; }

    public required string Kind { get; set; }

    /// <summary>Path relative to the artifact store root.</summary>
    public required string Path { get; set; }

    public long SizeBytes { get; set; }

    /// <summary>Lower-case hex sha256 of the file's bytes.</summary>
    public required string Sha256 { get; set; }

    public Guid? DatasetId { get; set; }

    public Guid? JobId { get; set; }

    public Guid? RunId { get; set; }

    /// <summary>For checkpoints: the last completed epoch they hold.</summary>
    public int? Epoch { get; set; }

    /// <summary>For exported variants: the rank fraction the network was truncated to.</summary>
    public double? RankFraction { get; set; }

    public DateTime CreatedAt { get; set; }
}

public static class ArtifactKinds
{
    public const string DatasetFile = "dataset-file";
    public const string Checkpoint = "checkpoint";
    public const string Model = "model";
    public const string VariantOnnx = "variant-onnx";
    public const string VariantTorchSharp = "variant-torchsharp";

    /// <summary>A dataset's <c>samples.png</c> preview: derived from its files, so not part of its content hash or size.</summary>
    public const string DatasetSamples = "dataset-samples";

    public static string ForVariantFormat(string format) => format == Domain.Variants.VariantFormats.Onnx ? VariantOnnx : VariantTorchSharp;
}

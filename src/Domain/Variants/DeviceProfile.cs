using Domain.Common;

namespace Domain.Variants;

/// <summary>
/// A device that runs variants: a built-in profile for each host the workers measured, or a user's own
/// (a phone, an edge box) whose latencies arrive through <c>POST /devices/{name}/latencies</c>.
/// </summary>
public sealed class DeviceProfile
{
    public const int MaxNameLength = 64;

    public Guid Id { get; set; }

    /// <summary>The owner of a user's profile; null for built-in profiles, which every tenant sees.</summary>
    public Guid? TenantId { get; set; }

    /// <summary>Lower-case slug, unique: letters, digits, '.', '_' and '-'.</summary>
    public required string Name { get; set; }

    public string? Description { get; set; }

    public string? CpuModel { get; set; }

    public int? Cores { get; set; }

    public int? Threads { get; set; }

    public string? GpuName { get; set; }

    /// <summary>True for profiles the workers create for the hosts they measure on.</summary>
    public bool BuiltIn { get; set; }

    public DateTime CreatedAt { get; set; }

    public static void ValidateName(Rules rules, string field, string? name) => Slug.Validate(rules, field, name, MaxNameLength);
}

/// <summary>Latency of one variant (run, rank fraction) on one device at one batch size.</summary>
public sealed class VariantLatency
{
    public Guid Id { get; set; }

    public Guid RunId { get; set; }

    public double RankFraction { get; set; }

    public Guid DeviceProfileId { get; set; }

    public int Batch { get; set; }

    public double MedianMs { get; set; }

    public double P90Ms { get; set; }

    public int Runs { get; set; }

    /// <summary>What ran it, e.g. <c>onnxruntime-cpu</c>, <c>torchsharp-cuda</c> or a client's own label.</summary>
    public required string Runtime { get; set; }

    public int? Threads { get; set; }

    public DateTime MeasuredAt { get; set; }
}

public static class VariantFormats
{
    public const string Onnx = "onnx";
    public const string TorchSharp = "torchsharp";
    public static readonly string[] All = [Onnx, TorchSharp];
}

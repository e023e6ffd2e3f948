using System.Text;
using System.Text.RegularExpressions;

namespace Worker.Variants;

/// <summary>The host a latency was measured on.</summary>
/// <param name="ProfileName">Stable per host kind: <c>cpu-&lt;slug of the CPU model&gt;-&lt;threads&gt;t</c>.</param>
/// <param name="Cores">Physical cores (distinct physical id/core id pairs in /proc/cpuinfo), else logical processors.</param>
/// <param name="Threads">Intra-op threads the CPU measurements use.</param>
/// <param name="GpuName">The NVIDIA GPU's model when the driver reports one; otherwise null.</param>
public sealed record HostDescription(string ProfileName, string CpuModel, int Cores, int Threads, string? GpuName)
{
    /// <summary>Profile for CUDA measurements on this host: <c>gpu-&lt;slug of the GPU model&gt;</c>, or null without a GPU.</summary>
    public string? GpuProfileName => GpuName is null ? null : "gpu-" + HostProfile.Slug(GpuName);
}

/// <summary>Describes this host for built-in device profiles (issue 4: CPU model, cores, threads, GPU name).</summary>
public static partial class HostProfile
{
    /// <summary>
    /// Reads the CPU model and cores from <c>/proc/cpuinfo</c> (Linux; elsewhere the processor identifier and
    /// logical processor count) and the GPU name from the NVIDIA driver's <c>/proc/driver/nvidia/gpus/*/information</c>.
    /// </summary>
    public static HostDescription Describe(int threads)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        (string? model, int cores) = ReadCpuInfo();
        string cpu = model ?? Environment.GetEnvironmentVariable("PROCESSOR_IDENTIFIER") ?? System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture.ToString();
        return new HostDescription($"cpu-{Slug(cpu)}-{threads}t", cpu, cores, threads, ReadGpuName());
    }

    /// <summary>Lower-case letters and digits joined by single hyphens, without trademark noise.</summary>
    public static string Slug(string text)
    {
        string cleaned = NoiseWords().Replace(text, " ");
        string slug = NonAlphanumeric().Replace(cleaned.ToLowerInvariant(), "-").Trim('-');
        return slug.Length == 0 ? "unknown" : slug;
    }

    private static (string? Model, int Cores) ReadCpuInfo()
    {
        const string path = "/proc/cpuinfo";
        if (!File.Exists(path))
        {
            return (null, Environment.ProcessorCount);
        }
        string? model = null;
        var coreIds = new HashSet<(string, string)>();
        string physical = "0";
        foreach (string line in File.ReadLines(path))
        {
            int colon = line.IndexOf(':');
            if (colon < 0)
            {
                continue;
            }
            string key = line[..colon].Trim();
            string value = line[(colon + 1)..].Trim();
            switch (key)
            {
                // x86 reports "model name"; arm64 kernels may report only "Hardware" or "CPU part".
                case "model name" or "Hardware" when model is null:
                    model = value;
                    break;
                case "physical id":
                    physical = value;
                    break;
                case "core id":
                    coreIds.Add((physical, value));
                    break;
            }
        }
        return (model, coreIds.Count > 0 ? Math.Min(coreIds.Count, Environment.ProcessorCount) : Environment.ProcessorCount);
    }

    private static string? ReadGpuName()
    {
        const string root = "/proc/driver/nvidia/gpus";
        if (!Directory.Exists(root))
        {
            return null;
        }
        foreach (string directory in Directory.EnumerateDirectories(root).Order())
        {
            string information = Path.Combine(directory, "information");
            if (!File.Exists(information))
            {
                continue;
            }
            foreach (string line in File.ReadLines(information, Encoding.UTF8))
            {
                if (line.StartsWith("Model:", StringComparison.Ordinal))
                {
                    return line["Model:".Length..].Trim();
                }
            }
        }
        return null;
    }

    [GeneratedRegex(@"\((R|TM|tm|r)\)|\bCPU\b|\bProcessor\b|@.*$", RegexOptions.IgnoreCase)]
    private static partial Regex NoiseWords();

    [GeneratedRegex("[^a-z0-9]+")]
    private static partial Regex NonAlphanumeric();
}

using System.Diagnostics;
using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace TrainingService.Sdk;

/// <summary>Times ONNX variants on this machine's CPU with ONNX Runtime, and describes the machine.</summary>
internal static class OnnxTimer
{
    /// <summary>
    /// Warm-up runs, then <see cref="ProfileOptions.Runs"/> timed runs per batch size. The single float32 input's
    /// shape comes from the model (an MLP variant takes [batch, features], a CNN [batch, C, H, W]); its first axis
    /// is the dynamic batch axis, every other must be fixed.
    /// </summary>
    public static List<VariantTiming> Time(byte[] model, double rankFraction, ProfileOptions options, CancellationToken cancellationToken)
    {
        using var sessionOptions = new SessionOptions
        {
            IntraOpNumThreads = options.IntraOpThreads,
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
        };
        using var session = new InferenceSession(model, sessionOptions);
        if (session.InputMetadata.Count != 1)
        {
            throw new InvalidDataException($"The variant at rank fraction {rankFraction} has {session.InputMetadata.Count} inputs; one was expected.");
        }
        (string name, NodeMetadata input) = session.InputMetadata.Single();
        if (input.ElementType != typeof(float) || input.Dimensions.Length < 2 || input.Dimensions.Skip(1).Any(d => d <= 0))
        {
            throw new InvalidDataException(
                $"The variant's input '{name}' is {input.ElementType.Name}[{string.Join(", ", input.Dimensions)}]; float32 [batch, fixed sizes…] was expected.");
        }
        var random = new Random(options.Seed);
        var timings = new List<VariantTiming>();
        foreach (int batch in options.Batches)
        {
            var tensor = new DenseTensor<float>([batch, .. input.Dimensions.Skip(1)]);
            Span<float> values = tensor.Buffer.Span;
            for (int i = 0; i < values.Length; i++)
            {
                values[i] = random.NextSingle();
            }
            NamedOnnxValue[] inputs = [NamedOnnxValue.CreateFromTensor(name, tensor)];
            for (int i = 0; i < options.WarmupRuns; i++)
            {
                using IDisposableReadOnlyCollection<DisposableNamedOnnxValue> _ = session.Run(inputs);
            }
            double[] ms = new double[options.Runs];
            for (int i = 0; i < ms.Length; i++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                long start = Stopwatch.GetTimestamp();
                using (session.Run(inputs))
                {
                }
                ms[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            }
            Array.Sort(ms);
            var timing = new VariantTiming(rankFraction, batch, Median(ms), NearestRank(ms, 0.9), ms.Length);
            options.Progress?.Report(timing);
            timings.Add(timing);
        }
        return timings;
    }

    private static double Median(double[] sorted) =>
        sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;

    private static double NearestRank(double[] sorted, double quantile) =>
        sorted[Math.Clamp((int)Math.Ceiling(quantile * sorted.Length) - 1, 0, sorted.Length - 1)];

    /// <summary>This machine for a new device profile: CPU model and counts from /proc/cpuinfo where there is one.</summary>
    public static CreateDeviceRequest DescribeMachine(string name, string? description)
    {
        string? model = null;
        int? cores = null;
        try
        {
            if (File.Exists("/proc/cpuinfo"))
            {
                string[] lines = File.ReadAllLines("/proc/cpuinfo");
                string? Value(string line) => line.Split(':', 2) is [_, var v] ? v.Trim() : null;
                model = lines.Where(l => l.StartsWith("model name", StringComparison.Ordinal)).Select(Value).FirstOrDefault();
                int? perSocket = lines.Where(l => l.StartsWith("cpu cores", StringComparison.Ordinal))
                    .Select(l => int.TryParse(Value(l), out int c) ? c : (int?)null).FirstOrDefault();
                int sockets = Math.Max(1, lines.Where(l => l.StartsWith("physical id", StringComparison.Ordinal)).Select(Value).Distinct().Count());
                cores = perSocket * sockets;
            }
        }
        catch (IOException)
        {
            // A restricted /proc: the profile just says less.
        }
        var request = new CreateDeviceRequest
        {
            Name = name,
            Description = description ?? $"{RuntimeInformation.OSDescription} ({RuntimeInformation.OSArchitecture}), profiled by TrainingService.Client",
            // The service keeps at most 200 characters of the CPU model.
            CpuModel = (model ?? RuntimeInformation.ProcessArchitecture.ToString()) is var cpu && cpu.Length > 200 ? cpu[..200] : cpu,
            Threads = Environment.ProcessorCount,
        };
        if (cores is int c && c > 0)
        {
            request.Cores = c;
        }
        return request;
    }
}

using System.Diagnostics;
using Microsoft.ML.OnnxRuntime;
using Training.Engine;
using TorchSharp;
using static TorchSharp.torch;

namespace Worker.Variants;

/// <summary>Latency of one variant at one batch size: median and 90th percentile over <see cref="Runs"/> timed runs.</summary>
/// <param name="Threads">Intra-op threads (ONNX Runtime CPU); 0 for the GPU.</param>
/// <param name="Runtime">What ran it, e.g. <c>onnxruntime 1.31.1 cpu</c> or <c>torchsharp 0.107.0 cuda</c>.</param>
public sealed record LatencyResult(int Batch, double MedianMs, double P90Ms, int Runs, int Threads, string Runtime);

/// <summary>
/// Measures inference latency the way a device sees it: one model, one fixed input, warm-up runs, then timed runs
/// (a <see cref="Stopwatch"/> around each) until both a minimum run count and a minimum total time are reached.
/// </summary>
public static class LatencyMeter
{
    /// <summary>By default, timed runs continue until at least this much time has been measured (and the minimum run count reached).</summary>
    public static readonly TimeSpan DefaultMinimumTotal = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// ONNX Runtime on this host's CPU with <paramref name="threads"/> intra-op threads (one inter-op thread,
    /// sequential execution, all graph optimisations), on uniform [0, 1) inputs of shape [batch, ..sample].
    /// <paramref name="sampleShape"/> may be any shape with the model's per-sample size (e.g. 28×28 for a 784-input MLP).
    /// </summary>
    /// <exception cref="ArgumentException">The sample size does not match the model's input.</exception>
    public static LatencyResult MeasureOnnxCpu(
        byte[] onnx, IReadOnlyList<int> sampleShape, int batch, int threads, int warmup = 10, int minRuns = 50, TimeSpan? minimumTotal = null)
    {
        ArgumentNullException.ThrowIfNull(onnx);
        ArgumentNullException.ThrowIfNull(sampleShape);
        ArgumentOutOfRangeException.ThrowIfLessThan(batch, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(warmup);
        ArgumentOutOfRangeException.ThrowIfLessThan(minRuns, 1);

        using var options = new SessionOptions
        {
            IntraOpNumThreads = threads,
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
        };
        using var session = new InferenceSession(onnx, options);
        (string inputName, long[] shape) = OnnxInputs.Describe(session, batch);
        long sampleSize = shape.Skip(1).Aggregate(1L, (a, b) => a * b);
        long requested = sampleShape.Aggregate(1L, (a, b) => a * b);
        if (requested != sampleSize)
        {
            throw new ArgumentException($"Sample shape [{string.Join(", ", sampleShape)}] has {requested} values; the model takes {sampleSize}.", nameof(sampleShape));
        }
        float[] data = Inputs(batch * sampleSize);
        using OrtValue input = OrtValue.CreateTensorValueFromMemory(data, shape);
        using var runOptions = new RunOptions();
        string[] inputNames = [inputName];
        OrtValue[] inputs = [input];
        IReadOnlyCollection<string> outputNames = session.OutputNames;

        List<double> times = Time(warmup, minRuns, minimumTotal ?? DefaultMinimumTotal, () =>
        {
            using IDisposableReadOnlyCollection<OrtValue> outputs = session.Run(runOptions, inputNames, inputs, outputNames);
        });
        return Summarise(batch, times, threads, $"onnxruntime {OrtEnv.Instance().GetVersionString()} cpu");
    }

    /// <summary>
    /// TorchSharp on CUDA when <c>torch.cuda.is_available()</c>: the <see cref="ModelFile"/> network in eval mode without
    /// gradients, each timed run ending with <c>torch.cuda.synchronize()</c>; null when no CUDA device is usable.
    /// </summary>
    public static LatencyResult? MeasureTorchCuda(
        byte[] torchSharpModel, IReadOnlyList<int> sampleShape, int batch, int warmup = 10, int minRuns = 50, TimeSpan? minimumTotal = null)
    {
        ArgumentNullException.ThrowIfNull(torchSharpModel);
        ArgumentNullException.ThrowIfNull(sampleShape);
        ArgumentOutOfRangeException.ThrowIfLessThan(batch, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(warmup);
        ArgumentOutOfRangeException.ThrowIfLessThan(minRuns, 1);
        if (!cuda.is_available())
        {
            return null;
        }

        using var noGrad = no_grad();
        using var network = ModelFile.Read(new MemoryStream(torchSharpModel, writable: false));
        long sampleSize = network.InputShape.Aggregate(1L, (a, b) => a * b);
        long requested = sampleShape.Aggregate(1L, (a, b) => a * b);
        if (requested != sampleSize)
        {
            throw new ArgumentException($"Sample shape [{string.Join(", ", sampleShape)}] has {requested} values; the model takes {sampleSize}.", nameof(sampleShape));
        }
        network.to(CUDA).eval();
        using Tensor input = tensor(Inputs(batch * sampleSize), [batch, sampleSize], device: CUDA);
        List<double> times = Time(warmup, minRuns, minimumTotal ?? DefaultMinimumTotal, () =>
        {
            using var scope = NewDisposeScope();
            network.call(input);
            cuda.synchronize();
        });
        return Summarise(batch, times, 0, $"torchsharp {typeof(torch).Assembly.GetName().Version?.ToString(3)} cuda");
    }

    /// <summary>Linear interpolation between order statistics (type 7 of Hyndman and Fan, numpy's default).</summary>
    internal static double Percentile(IReadOnlyList<double> sorted, double p)
    {
        double position = p * (sorted.Count - 1);
        int lower = (int)Math.Floor(position);
        int upper = Math.Min(lower + 1, sorted.Count - 1);
        return sorted[lower] + (position - lower) * (sorted[upper] - sorted[lower]);
    }

    private static List<double> Time(int warmup, int minRuns, TimeSpan minimumTotal, Action run)
    {
        for (int i = 0; i < warmup; i++)
        {
            run();
        }
        var times = new List<double>(minRuns);
        double total = 0;
        double minimum = minimumTotal.TotalMilliseconds;
        while (times.Count < minRuns || total < minimum)
        {
            long start = Stopwatch.GetTimestamp();
            run();
            double ms = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            times.Add(ms);
            total += ms;
        }
        return times;
    }

    private static LatencyResult Summarise(int batch, List<double> times, int threads, string runtime)
    {
        times.Sort();
        return new LatencyResult(batch, Percentile(times, 0.5), Percentile(times, 0.9), times.Count, threads, runtime);
    }

    /// <summary>Fixed-seed uniform inputs: latency of these dense networks does not depend on the values.</summary>
    private static float[] Inputs(long count)
    {
        var random = new Random(17);
        var data = new float[count];
        for (long i = 0; i < count; i++)
        {
            data[i] = random.NextSingle();
        }
        return data;
    }
}

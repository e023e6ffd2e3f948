using static TorchSharp.torch;

namespace Training.Engine;

/// <summary>
/// The engine's only way to read tensor values to the host. A read waits for the device to finish (on CUDA a
/// synchronisation), so none may happen inside a training step: the loop marks its steps, and a read attempted
/// while a step runs throws. Metrics accumulate as device tensors and are read once per epoch.
/// </summary>
internal static class HostSync
{
    [ThreadStatic]
    private static int s_stepDepth;

    [ThreadStatic]
    private static long s_reads;

    /// <summary>Host reads on this thread since it started (for tests).</summary>
    public static long Reads => s_reads;

    /// <summary>Marks a training step until the returned scope is disposed.</summary>
    public static StepScope Step()
    {
        s_stepDepth++;
        return default;
    }

    /// <summary>One scalar of any numeric dtype, as a double.</summary>
    public static double Scalar(Tensor value)
    {
        Guard();
        using Tensor host = value.detach().to(float64).cpu();
        return host.item<double>();
    }

    /// <summary>All values as doubles.</summary>
    public static double[] Values(Tensor value) => Read<double>(value, float64);

    /// <summary>All values as floats (half the memory of <see cref="Values"/>, e.g. for a similarity matrix).</summary>
    public static float[] Floats(Tensor value) => Read<float>(value, float32);

    /// <summary>All values as longs.</summary>
    public static long[] Longs(Tensor value) => Read<long>(value, int64);

    private static T[] Read<T>(Tensor value, ScalarType type)
        where T : unmanaged
    {
        Guard();
        using Tensor host = value.detach().to(type).cpu();
        return host.data<T>().ToArray();
    }

    private static void Guard()
    {
        if (s_stepDepth > 0)
        {
            throw new InvalidOperationException("A tensor was read to the host inside a training step; accumulate on the device and read once per epoch.");
        }
        s_reads++;
    }

    public readonly struct StepScope : IDisposable
    {
        public void Dispose() => s_stepDepth--;
    }
}

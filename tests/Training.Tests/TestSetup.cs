using System.Runtime.CompilerServices;
using TorchSharp;

namespace Training.Tests;

internal static class TestSetup
{
    /// <summary>
    /// One intra-op thread: the tests' tensors are tiny, and on a busy 2-core CI machine libtorch's OpenMP workers
    /// spin-wait on each other (a 10 s suite took over 10 minutes next to a parallel build).
    /// </summary>
#pragma warning disable CA2255 // a module initializer is the one hook that runs before any test in this assembly
    [ModuleInitializer]
    internal static void SingleThreadedTorch() => torch.set_num_threads(1);
#pragma warning restore CA2255
}

using System.Runtime.InteropServices;

namespace Worker.Telemetry;

/// <summary>
/// The two NVML calls the GPU memory gauges need, bound at run time from <c>libnvidia-ml.so.1</c> (shipped with
/// the NVIDIA driver, not with TorchSharp, whose API has no <c>torch.cuda.memory_allocated</c>). Every failure
/// (no library, no driver, no such GPU) is a <c>false</c>, never an exception, so a CPU machine reports nothing.
/// </summary>
/// <remarks>NVML API: https://docs.nvidia.com/deploy/nvml-api/ (<c>nvmlInit_v2</c>, <c>nvmlDeviceGetHandleByIndex_v2</c>, <c>nvmlDeviceGetMemoryInfo</c>).</remarks>
internal sealed class Nvml
{
    public const string LibraryName = "libnvidia-ml.so.1";

    [StructLayout(LayoutKind.Sequential)]
    private struct Memory
    {
        public ulong Total;
        public ulong Free;
        public ulong Used;
    }

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate int InitFunction();

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate int HandleByIndexFunction(uint index, out IntPtr device);

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate int MemoryInfoFunction(IntPtr device, out Memory memory);

    private readonly IntPtr _device;
    private readonly MemoryInfoFunction _memoryInfo;

    private Nvml(IntPtr device, MemoryInfoFunction memoryInfo)
    {
        _device = device;
        _memoryInfo = memoryInfo;
    }

    /// <summary>Opens GPU <paramref name="index"/> (NVML's numbering), or returns null with the reason.</summary>
    public static Nvml? TryOpen(int index, out string? reason)
    {
        reason = null;
        if (!NativeLibrary.TryLoad(LibraryName, out IntPtr library))
        {
            reason = $"{LibraryName} is not loadable (no NVIDIA driver).";
            return null;
        }
        if (!NativeLibrary.TryGetExport(library, "nvmlInit_v2", out IntPtr init)
            || !NativeLibrary.TryGetExport(library, "nvmlDeviceGetHandleByIndex_v2", out IntPtr byIndex)
            || !NativeLibrary.TryGetExport(library, "nvmlDeviceGetMemoryInfo", out IntPtr memoryInfo))
        {
            reason = $"{LibraryName} lacks an NVML function.";
            return null;
        }
        int status = Marshal.GetDelegateForFunctionPointer<InitFunction>(init)();
        if (status != 0)
        {
            reason = $"nvmlInit_v2 returned {status}.";
            return null;
        }
        status = Marshal.GetDelegateForFunctionPointer<HandleByIndexFunction>(byIndex)((uint)index, out IntPtr device);
        if (status != 0)
        {
            reason = $"nvmlDeviceGetHandleByIndex_v2({index}) returned {status}.";
            return null;
        }
        // The library stays loaded for the process's lifetime, as NVML expects.
        return new Nvml(device, Marshal.GetDelegateForFunctionPointer<MemoryInfoFunction>(memoryInfo));
    }

    /// <summary>Device memory in use (by every process on the GPU) and in total, in bytes.</summary>
    public bool TryRead(out long used, out long total)
    {
        if (_memoryInfo(_device, out Memory memory) != 0)
        {
            used = total = 0;
            return false;
        }
        used = (long)memory.Used;
        total = (long)memory.Total;
        return true;
    }
}

using System.Runtime.InteropServices;

namespace Infrastructure.Artifacts;

/// <summary>
/// fsync(2) of a directory, so a rename into it survives a power loss: flushing the file's bytes alone does not
/// persist the directory entry that names it. .NET cannot open a directory as a file, hence open(2) directly.
/// A no-op on Windows, where NTFS journals the rename itself.
/// </summary>
internal static partial class DirectorySync
{
    private const int ORdonly = 0;
    private const int OCloexec = 0x80000; // Linux; ignored where unsupported since O_RDONLY alone opens a directory
    private const int Einval = 22;

    /// <summary>Flushes <paramref name="directory"/>'s entries to disk; throws <see cref="IOException"/> when the file system reports an error.</summary>
    public static void Flush(string directory)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }
        int fd = Open(directory, ORdonly | (OperatingSystem.IsLinux() ? OCloexec | ODirectory : 0));
        if (fd < 0)
        {
            throw new IOException($"Cannot open directory '{directory}' to flush it (errno {Marshal.GetLastPInvokeError()}).");
        }
        try
        {
            // Some file systems cannot fsync a directory (EINVAL); there is nothing more to flush on them.
            if (Fsync(fd) != 0 && Marshal.GetLastPInvokeError() is int errno && errno != Einval)
            {
                throw new IOException($"fsync of directory '{directory}' failed (errno {errno}).", errno);
            }
        }
        finally
        {
            _ = Close(fd);
        }
    }

    // O_DIRECTORY differs between Linux architectures (asm-generic vs x86).
    private static int ODirectory => RuntimeInformation.ProcessArchitecture is Architecture.Arm or Architecture.Arm64 ? 0x4000 : 0x10000;

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int Fsync(int fd);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);
}

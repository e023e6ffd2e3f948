namespace Infrastructure.Artifacts;

/// <summary>Recognises file-system failures that callers answer differently from a plain I/O error.</summary>
public static class StorageErrors
{
    // .NET puts the raw errno in IOException.HResult on Unix, the HRESULT of the Win32 error on Windows.
    private const int Enospc = 28;
    private const int LinuxEdquot = 122;
    private const int MacEdquot = 69;
    private const int WindowsDiskFull = unchecked((int)0x80070070);
    private const int WindowsHandleDiskFull = unchecked((int)0x80070027);

    /// <summary>Whether <paramref name="exception"/> or one of its inner exceptions is "no space left on device" or "disk quota exceeded".</summary>
    public static bool IsDiskFull(Exception? exception)
    {
        for (Exception? e = exception; e is not null; e = e.InnerException)
        {
            if (e is IOException && (OperatingSystem.IsWindows()
                ? e.HResult is WindowsDiskFull or WindowsHandleDiskFull
                : e.HResult == Enospc || e.HResult == (OperatingSystem.IsMacOS() ? MacEdquot : LinuxEdquot)))
            {
                return true;
            }
        }
        return false;
    }
}

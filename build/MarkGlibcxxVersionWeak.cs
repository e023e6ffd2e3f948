// MSBuild inline task (RoslynCodeTaskFactory). Sets VER_FLG_WEAK on the Vernaux entry that names
// a GLIBCXX version in an ELF64 shared object, but only when the host libstdc++ does not define
// that version. The dynamic loader then accepts the missing version instead of refusing the library.
// ELF layout: System V gABI, "Symbol Versioning" (Elf64_Verneed / Elf64_Vernaux).
// RoslynCodeTaskFactory compiles for netstandard2.0, hence the older APIs below.
#nullable enable
using System;
using System.IO;
using System.Text;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

public sealed class MarkGlibcxxVersionWeak : Task
{
    private const uint ShtGnuVerneed = 0x6ffffffe;
    private const ushort VerFlgWeak = 0x2;

    private static readonly string[] s_libStdCxxCandidates =
    {
        "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/lib/x86_64-linux-gnu/libstdc++.so.6",
        "/usr/lib/aarch64-linux-gnu/libstdc++.so.6", "/usr/lib64/libstdc++.so.6", "/usr/lib/libstdc++.so.6",
    };

    [Required] public ITaskItem[] Files { get; set; } = Array.Empty<ITaskItem>();
    [Required] public string Version { get; set; } = "";

    public override bool Execute()
    {
        string? host = Array.Find(s_libStdCxxCandidates, File.Exists);
        if (host is null)
        {
            Log.LogMessage(MessageImportance.Low, "No libstdc++.so.6 found; leaving libLibTorchSharp.so as it is.");
            return true;
        }
        if (IndexOf(File.ReadAllBytes(host), Encoding.ASCII.GetBytes(Version + "\0")) >= 0)
        {
            Log.LogMessage(MessageImportance.Low, $"{host} defines {Version}; no patch needed.");
            return true;
        }
        foreach (ITaskItem item in Files)
        {
            string path = item.ItemSpec;
            byte[] elf = File.ReadAllBytes(path);
            int marked = MarkWeak(elf, Version);
            if (marked < 0)
            {
                Log.LogMessage(MessageImportance.Low, $"{path}: not an ELF64 little-endian file; skipped.");
                continue;
            }
            if (marked == 0)
            {
                continue;
            }
            // Replace rather than overwrite: the output file may be a hard link into the NuGet cache.
            string temp = path + ".patching";
            File.WriteAllBytes(temp, elf);
            File.Delete(path);
            File.Move(temp, path);
            Log.LogMessage(MessageImportance.Normal, $"{path}: marked {Version} weak ({host} lacks it).");
        }
        return true;
    }

    /// <summary>Returns the number of entries newly marked weak, or -1 when the file is not ELF64 LE.</summary>
    private static int MarkWeak(byte[] b, string version)
    {
        if (b.Length < 64 || b[0] != 0x7f || b[1] != (byte)'E' || b[2] != (byte)'L' || b[3] != (byte)'F' || b[4] != 2 || b[5] != 1)
        {
            return -1;
        }
        long shoff = (long)BitConverter.ToUInt64(b, 0x28);
        int shentsize = BitConverter.ToUInt16(b, 0x3A);
        int shnum = BitConverter.ToUInt16(b, 0x3C);
        int marked = 0;
        for (int i = 0; i < shnum; i++)
        {
            long sh = shoff + (long)i * shentsize;
            if (BitConverter.ToUInt32(b, (int)sh + 4) != ShtGnuVerneed)
            {
                continue;
            }
            long section = (long)BitConverter.ToUInt64(b, (int)sh + 0x18);
            uint link = BitConverter.ToUInt32(b, (int)sh + 0x28);
            uint count = BitConverter.ToUInt32(b, (int)sh + 0x2C);
            long strtab = (long)BitConverter.ToUInt64(b, (int)(shoff + link * shentsize) + 0x18);
            long vn = section;
            for (uint n = 0; n < count; n++)
            {
                int auxCount = BitConverter.ToUInt16(b, (int)vn + 2);
                long aux = vn + BitConverter.ToUInt32(b, (int)vn + 8);
                for (int j = 0; j < auxCount; j++)
                {
                    long name = strtab + BitConverter.ToUInt32(b, (int)aux + 8);
                    if (CStringEquals(b, name, version))
                    {
                        ushort flags = BitConverter.ToUInt16(b, (int)aux + 4);
                        if ((flags & VerFlgWeak) == 0)
                        {
                            BitConverter.GetBytes((ushort)(flags | VerFlgWeak)).CopyTo(b, (int)aux + 4);
                            marked++;
                        }
                    }
                    aux += BitConverter.ToUInt32(b, (int)aux + 12);
                }
                vn += BitConverter.ToUInt32(b, (int)vn + 12);
            }
        }
        return marked;
    }

    private static bool CStringEquals(byte[] b, long offset, string value)
    {
        for (int k = 0; k < value.Length; k++)
        {
            if (offset + k >= b.Length || b[offset + k] != (byte)value[k])
            {
                return false;
            }
        }
        return offset + value.Length < b.Length && b[offset + value.Length] == 0;
    }

    private static int IndexOf(byte[] haystack, byte[] needle)
    {
        for (int i = 0; i <= haystack.Length - needle.Length; i++)
        {
            int k = 0;
            while (k < needle.Length && haystack[i + k] == needle[k])
            {
                k++;
            }
            if (k == needle.Length)
            {
                return i;
            }
        }
        return -1;
    }
}

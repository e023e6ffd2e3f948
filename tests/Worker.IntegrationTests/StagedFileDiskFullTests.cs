using System.Diagnostics;
using Infrastructure.Artifacts;

namespace Worker.IntegrationTests;

/// <summary>
/// Issue 11's full-disk upload: a staged file whose write or flush fails on a full disk must not stay behind.
/// Needs root to mount a small tmpfs (as CI runs); elsewhere the test has nothing to mount and returns early.
/// </summary>
public sealed class StagedFileDiskFullTests
{
    [Theory]
    [InlineData(0, 16)]   // the write itself hits the full disk
    [InlineData(248, 1)]  // the bytes fit in the stream's buffer; the flush in Commit, then in Dispose, fails
    public void Stage_DiskFullWhileWriting_ThrowsIOExceptionAndLeavesNoStagedFile(int fillerKiB, int chunks)
    {
        if (!OperatingSystem.IsLinux() || Environment.UserName != "root")
        {
            return;
        }
        string dir = Directory.CreateTempSubdirectory("tas-full-disk-").FullName;
        Run("mount", $"-t tmpfs -o size=256k tmpfs {dir}");
        try
        {
            // Arrange
            var store = new FileArtifactStore(dir);
            string filler = Path.Combine(dir, "filler.bin");
            File.WriteAllBytes(filler, new byte[fillerKiB * 1024]);

            // Act: an upload streams into the staging area of a 256 KiB file system.
            Exception? error = Record.Exception(() =>
            {
                using StagedFile staged = store.Stage();
                byte[] chunk = new byte[64 * 1024];
                for (int i = 0; i < chunks; i++)
                {
                    staged.Stream.Write(chunk);
                }
                staged.Commit("datasets/x/images.idx");
            });

            // Assert
            Assert.IsAssignableFrom<IOException>(error);
            Assert.Equal([filler], Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories));
        }
        finally
        {
            Run("umount", dir);
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Commit_IntoNewNestedFolders_FlushesTheFoldersAndStoresTheFile()
    {
        // Arrange: Commit creates runs/x/variants/0.5 and fsyncs it and the parents of the folders it created.
        string dir = Directory.CreateTempSubdirectory("tas-commit-").FullName;
        try
        {
            var store = new FileArtifactStore(dir);
            using StagedFile staged = store.Stage();
            staged.Stream.Write([1, 2, 3]);

            // Act
            StoredFile stored = staged.Commit("runs/x/variants/0.5/model.bin");
            DirectorySync.Flush(dir);

            // Assert
            Assert.Equal([1, 2, 3], File.ReadAllBytes(Path.Combine(dir, "runs/x/variants/0.5/model.bin")));
            Assert.Equal(3, stored.SizeBytes);
            if (!OperatingSystem.IsWindows())
            {
                Assert.Throws<IOException>(() => DirectorySync.Flush(Path.Combine(dir, "missing")));
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static void Run(string command, string arguments)
    {
        using Process process = Process.Start(new ProcessStartInfo(command, arguments) { RedirectStandardError = true })!;
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"{command} {arguments}: {process.StandardError.ReadToEnd()}");
    }
}

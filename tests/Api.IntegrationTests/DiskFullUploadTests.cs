using System.Diagnostics;
using System.IO.Compression;
using Microsoft.AspNetCore.Hosting;

namespace Api.IntegrationTests;

/// <summary>
/// The Api with its artifact store (<c>Storage:ArtifactRoot</c>) on a 256 KiB tmpfs, so an upload fills the disk.
/// Mounting needs root on Linux (as CI runs); elsewhere <see cref="Mounted"/> is false and the tests return early.
/// </summary>
public sealed class DiskFullApi() : ApiFactory(StorageProvider.Sqlite)
{
    public string Mount { get; } = Path.Combine(Path.GetTempPath(), $"tas-tmpfs-{Guid.NewGuid():N}");

    public bool Mounted { get; private set; }

    public string StagingFolder => Path.Combine(Mount, ".staging");

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        base.ConfigureWebHost(builder);
        Directory.CreateDirectory(Mount);
        if (OperatingSystem.IsLinux() && Environment.UserName == "root" && !Mounted)
        {
            Run("mount", $"-t tmpfs -o size=256k tmpfs {Mount}");
            Mounted = true;
        }
        builder.UseSetting("Storage:ArtifactRoot", Mount);
    }

    /// <summary>Gives the file system <paramref name="kib"/> KiB: "space returns".</summary>
    public void Resize(int kib) => Run("mount", $"-o remount,size={kib}k {Mount}");

    /// <summary>Every file under the mount, relative to it.</summary>
    public IReadOnlyList<string> Files() =>
        Directory.EnumerateFiles(Mount, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(Mount, f)).Order().ToList();

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (Mounted)
        {
            Run("umount", Mount);
            Mounted = false;
        }
        if (Directory.Exists(Mount))
        {
            Directory.Delete(Mount, recursive: true);
        }
    }

    private static void Run(string command, string arguments)
    {
        using Process process = Process.Start(new ProcessStartInfo(command, arguments) { RedirectStandardError = true })!;
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"{command} {arguments}: {process.StandardError.ReadToEnd()}");
    }
}

/// <summary>Issue 11: an upload onto a full disk answers 507 and leaves no staged file, row or artifact behind.</summary>
public sealed class DiskFullUploadTests(DiskFullApi api) : IClassFixture<DiskFullApi>
{
    /// <summary>Where the upload hits the full disk: staging the multipart body, decoding gzip, or unpacking an IDX archive.</summary>
    public static TheoryData<string> Stages() => ["raw", "gzip", "archive"];

    [Theory]
    [MemberData(nameof(Stages))]
    public async Task Upload_DiskFull_Returns507AndLeavesNothing_ThenWorksWhenSpaceReturns(string stage)
    {
        // Arrange
        HttpClient client = api.CreateClient();
        if (!api.Mounted)
        {
            return;
        }
        api.Resize(256);
        // 16 000 samples of 8×8: about 1 MiB of images, four times the file system.
        (byte[] images, byte[] labels) = new IdxBuilder { Samples = 16_000, Seed = ApiClient.UniqueSeed() }.Build();
        byte[] sparse = new byte[16_000 * 64];
        var random = new Random(stage.Length);
        for (int i = 0; i < sparse.Length; i += 16)
        {
            sparse[i] = (byte)random.Next(256);
        }
        // Compresses about 15:1 (under Datasets:Limits:MaxCompressionRatio), so gzip and ZIP fit and what they decode to does not.
        sparse = IdxBuilder.Encode(sparse, 16_000, 8, 8);
        MultipartFormDataContent form = stage switch
        {
            "raw" => ApiClient.DatasetForm("full", images, labels),
            "gzip" => ApiClient.DatasetForm("full", IdxBuilder.Gzip(sparse), labels),
            _ => ArchiveForm(sparse, labels),
        };

        // Act
        using HttpResponseMessage response = await client.PostAsync("/api/v1/datasets", form);

        // Assert
        string body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.InsufficientStorage, $"expected 507, got {(int)response.StatusCode}: {body}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("Storage:ArtifactRoot", JsonDocument.Parse(body).RootElement.GetProperty("detail").GetString());
        Assert.Empty(api.Files());
        Assert.Equal(0, await api.WithDbAsync(db => db.Datasets.CountAsync()));
        Assert.Equal(0, await api.WithDbAsync(db => db.Artifacts.CountAsync()));

        // Space returns: the same upload is stored.
        api.Resize(16 * 1024);
        try
        {
            using HttpResponseMessage retry = await client.PostAsync("/api/v1/datasets", stage == "archive" ? ArchiveForm(sparse, labels)
                : ApiClient.DatasetForm("full", stage == "raw" ? images : IdxBuilder.Gzip(sparse), labels));
            Assert.True(retry.StatusCode == HttpStatusCode.Created, await retry.Content.ReadAsStringAsync());
            Assert.Empty(Directory.EnumerateFileSystemEntries(api.StagingFolder));
        }
        finally
        {
            // Leave the next case a full disk of its own.
            foreach (string folder in Directory.EnumerateDirectories(api.Mount).Where(d => Path.GetFileName(d) != ".staging"))
            {
                Directory.Delete(folder, recursive: true);
            }
            await api.WithDbAsync(async db =>
            {
                await db.Artifacts.ExecuteDeleteAsync();
                return await db.Datasets.IgnoreQueryFilters().ExecuteDeleteAsync();
            });
        }
    }

    private static MultipartFormDataContent ArchiveForm(byte[] images, byte[] labels)
    {
        using var buffer = new MemoryStream();
        using (var zip = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        {
            // The labels repeat 0..3: stored, so their ratio stays under MaxCompressionRatio.
            foreach ((string name, byte[] content, CompressionLevel level) in new[]
            {
                ("train-images-idx3-ubyte", images, CompressionLevel.Optimal), ("train-labels-idx1-ubyte", labels, CompressionLevel.NoCompression),
            })
            {
                using Stream entry = zip.CreateEntry(name, level).Open();
                entry.Write(content);
            }
        }
        var form = new MultipartFormDataContent { { new StringContent("full"), "name" }, { new StringContent("idx"), "format" } };
        form.Add(ApiClient.File(buffer.ToArray()), "archive", "mnist.zip");
        return form;
    }
}

/// <summary>Issue 11: an upload whose client goes away mid-body leaves no staged file.</summary>
public sealed class UploadAbortTests(SqliteApi api) : IClassFixture<SqliteApi>
{
    [Fact]
    public async Task Upload_ClientAbortsMidBody_LeavesNoStagedFile()
    {
        // Arrange: a body that sends 256 KiB of the images file, then fails.
        HttpClient client = api.CreateClient();
        var form = new MultipartFormDataContent { { new StringContent("aborted"), "name" } };
        form.Add(new StreamContent(new FailingStream(256 * 1024)), "images", "images.idx");
        string staging = Path.Combine(api.ArtifactRoot, ".staging");

        // Act
        await Assert.ThrowsAnyAsync<Exception>(() => client.PostAsync("/api/v1/datasets", form));

        // Assert: the server side finishes after the client gave up; give it a moment.
        DateTime deadline = DateTime.UtcNow.AddSeconds(10);
        while (Directory.Exists(staging) && Directory.EnumerateFiles(staging).Any() && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
        }
        Assert.Empty(Directory.Exists(staging) ? Directory.EnumerateFiles(staging) : []);
        Assert.Equal(0, await api.WithDbAsync(db => db.Datasets.CountAsync(d => d.Name == "aborted")));
    }

    private sealed class FailingStream(int bytes) : Stream
    {
        private int _sent;
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => _sent; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override int Read(byte[] buffer, int offset, int count)
        {
            if (_sent >= bytes)
            {
                throw new IOException("client went away");
            }
            int n = Math.Min(count, bytes - _sent);
            Array.Fill(buffer, (byte)7, offset, n);
            _sent += n;
            return n;
        }
    }
}

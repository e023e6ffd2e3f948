using System.Net.Sockets;
using System.Text;

namespace Api.IntegrationTests;

/// <summary>
/// Request timeouts (issue 13, item 2) on real Kestrel sockets: TestServer does not cancel a read of a request body
/// that has stalled, so a client that stops sending, or hangs up, is reproduced against the Api as its own process.
/// </summary>
public sealed class RequestTimeoutTests : IDisposable
{
    private readonly string _dataDirectory = Path.Combine(Path.GetTempPath(), $"tas-timeout-{Guid.NewGuid():N}");

    [Fact]
    public async Task Upload_ClientStopsSendingMidFile_Is504NamingUploadRequestTimeoutAndKeepsNothing()
    {
        // Arrange
        using ApiProcess api = await StartApiAsync(uploadRequestTimeout: "00:00:01");
        string[] filesBefore = StoredFiles();

        // Act: 4 KB of a declared megabyte, then silence.
        using var socket = new TcpClient();
        await socket.ConnectAsync(api.Address.Host, api.Address.Port);
        NetworkStream stream = socket.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(Head(1_000_000) + Prefix() + new string('x', 4096)));
        var clock = System.Diagnostics.Stopwatch.StartNew();
        using var reading = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var response = new StringBuilder();
        var buffer = new byte[4096];
        while (!response.ToString().Contains("\r\n0\r\n\r\n", StringComparison.Ordinal))
        {
            int n = await stream.ReadAsync(buffer, reading.Token);
            if (n == 0)
            {
                break;
            }
            response.Append(Encoding.UTF8.GetString(buffer, 0, n));
        }
        TimeSpan elapsed = clock.Elapsed;
        using HttpClient client = api.CreateClient();
        JsonElement datasets = await client.GetFromJsonAsync<JsonElement>("/api/v1/datasets");

        // Assert
        string text = response.ToString();
        Assert.StartsWith("HTTP/1.1 504", text);
        Assert.Contains("application/problem+json", text);
        Assert.Contains("(Api:UploadRequestTimeout)", text);
        Assert.True(elapsed < TimeSpan.FromSeconds(10), $"answered after {elapsed}");
        Assert.Equal(0, datasets.GetProperty("total").GetInt32());
        Assert.Equal(filesBefore, StoredFiles());
    }

    [Fact]
    public async Task Upload_ClientDisconnectsMidFile_KeepsNoRowAndNoStagedFile()
    {
        // Arrange
        using ApiProcess api = await StartApiAsync(uploadRequestTimeout: null);
        string[] filesBefore = StoredFiles();

        // Act: half a megabyte of a declared megabyte (staged to a file as it arrives), then the connection is closed.
        string[] filesWhileSending;
        using (var socket = new TcpClient())
        {
            await socket.ConnectAsync(api.Address.Host, api.Address.Port);
            NetworkStream stream = socket.GetStream();
            await stream.WriteAsync(Encoding.ASCII.GetBytes(Head(1_000_000) + Prefix() + new string('x', 512 * 1024)));
            filesWhileSending = StoredFiles();
            for (int i = 0; i < 50 && filesWhileSending.Length == filesBefore.Length; i++)
            {
                await Task.Delay(100);
                filesWhileSending = StoredFiles();
            }
        }
        string[] filesAfter = StoredFiles();
        for (int i = 0; i < 50 && !filesAfter.SequenceEqual(filesBefore); i++)
        {
            await Task.Delay(200);
            filesAfter = StoredFiles();
        }
        using HttpClient client = api.CreateClient();
        JsonElement datasets = await client.GetFromJsonAsync<JsonElement>("/api/v1/datasets");

        // Assert
        Assert.True(filesWhileSending.Length > filesBefore.Length, "nothing was staged while the body arrived");
        Assert.Equal(0, datasets.GetProperty("total").GetInt32());
        Assert.Equal(filesBefore, filesAfter);
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_dataDirectory, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }

    /// <summary>The Api on its own data directory and ports, without a worker; <c>null</c>: the default upload timeout.</summary>
    private Task<ApiProcess> StartApiAsync(string? uploadRequestTimeout)
    {
        var settings = new Dictionary<string, string>
        {
            ["Storage:DataDirectory"] = _dataDirectory,
            ["Grpc:Port"] = ApiProcess.FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Worker:InProcess"] = "false",
        };
        if (uploadRequestTimeout is not null)
        {
            settings["Api:UploadRequestTimeout"] = uploadRequestTimeout;
        }
        return ApiProcess.StartAsync(settings);
    }

    /// <summary>The request line and headers of a multipart upload declaring <paramref name="length"/> bytes of body.</summary>
    private static string Head(int length) => "POST /api/v1/datasets HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        + $"X-Api-Key: {ApiFactory.AdminKey}\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: {length}\r\n\r\n";

    /// <summary>A name field and the start of an <c>images</c> file part, whose content follows.</summary>
    private static string Prefix() => "--b\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nslow\r\n"
        + "--b\r\nContent-Disposition: form-data; name=\"images\"; filename=\"images.gz\"\r\nContent-Type: application/octet-stream\r\n\r\n";

    /// <summary>Every file under the data directory but the database and the key file: staged and stored artifacts.</summary>
    private string[] StoredFiles() => Directory.Exists(_dataDirectory)
        ? Directory.EnumerateFiles(_dataDirectory, "*", SearchOption.AllDirectories)
            .Where(f => !Path.GetFileName(f).StartsWith("tas.db", StringComparison.Ordinal) && !f.EndsWith(".db", StringComparison.Ordinal)
                && !f.Contains(".db-", StringComparison.Ordinal) && !f.EndsWith("api-key.txt", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal).ToArray()
        : [];
}

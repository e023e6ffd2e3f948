using System.Net.Sockets;
using System.Text;

namespace Api.IntegrationTests;

/// <summary>
/// Request timeouts (issue 13, item 2) on real Kestrel sockets: TestServer does not cancel a read of a request body
/// that has stalled, so a client that stops sending can only be reproduced against the Api as its own process.
/// </summary>
public sealed class RequestTimeoutTests : IDisposable
{
    private readonly string _dataDirectory = Path.Combine(Path.GetTempPath(), $"tas-timeout-{Guid.NewGuid():N}");

    [Fact]
    public async Task Upload_ClientStopsSendingMidFile_Is504NamingUploadRequestTimeoutAndKeepsNothing()
    {
        // Arrange
        using ApiProcess api = await ApiProcess.StartAsync(new Dictionary<string, string>
        {
            ["Storage:DataDirectory"] = _dataDirectory,
            ["Grpc:Port"] = ApiProcess.FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Worker:InProcess"] = "false",
            ["Api:UploadRequestTimeout"] = "00:00:01",
        });
        string[] filesBefore = StoredFiles();
        string body = "--b\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nslow\r\n"
            + "--b\r\nContent-Disposition: form-data; name=\"images\"; filename=\"images.gz\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            + new string('x', 4096);
        string head = "POST /api/v1/datasets HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            + $"X-Api-Key: {ApiFactory.AdminKey}\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: 1000000\r\n\r\n";

        // Act: a fifth of a megabyte short of the declared length, then silence.
        using var socket = new TcpClient();
        await socket.ConnectAsync(api.Address.Host, api.Address.Port);
        NetworkStream stream = socket.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head + body));
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

    /// <summary>Every file under the data directory but the database and the key file: staged and stored artifacts.</summary>
    private string[] StoredFiles() => Directory.Exists(_dataDirectory)
        ? Directory.EnumerateFiles(_dataDirectory, "*", SearchOption.AllDirectories)
            .Where(f => !Path.GetFileName(f).StartsWith("tas.db", StringComparison.Ordinal) && !f.EndsWith(".db", StringComparison.Ordinal)
                && !f.Contains(".db-", StringComparison.Ordinal) && !f.EndsWith("api-key.txt", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal).ToArray()
        : [];
}

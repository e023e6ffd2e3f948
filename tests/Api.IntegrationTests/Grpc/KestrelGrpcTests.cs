extern alias sdk;

using Grpc.Core;
using Grpc.Core.Interceptors;
using Grpc.Net.Client;
using Grpc.Reflection.V1Alpha;
using sdk::TrainingService.Sdk;
using sdk::TrainingService.Sdk.V1;

namespace Api.IntegrationTests.Grpc;

/// <summary>
/// The Api as its own process on real Kestrel sockets: REST over HTTP/1.1 and gRPC over cleartext HTTP/2 (h2c)
/// on the dedicated <c>Grpc:Port</c>, both on loopback, serving the same data.
/// </summary>
public sealed class KestrelGrpcTests : IDisposable
{
    private readonly string _dataDirectory = Path.Combine(Path.GetTempPath(), $"tas-kestrel-{Guid.NewGuid():N}");

    [Fact]
    public async Task RealKestrel_SdkUploadOverH2cLoopback_RestAndReflectionSeeTheSameDataset()
    {
        int grpcPort = ApiProcess.FreePort();
        using ApiProcess api = await ApiProcess.StartAsync(new Dictionary<string, string>
        {
            ["Storage:DataDirectory"] = _dataDirectory,
            ["Grpc:Port"] = grpcPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Worker:Threads"] = "1",
        });
        var grpcAddress = new Uri($"http://127.0.0.1:{grpcPort}");
        (byte[] images, byte[] labels) = new IdxBuilder().Build();

        using TrainingClient client = TrainingClient.Create(grpcAddress, new TrainingClientOptions { UploadChunkSize = 4096, ApiKey = ApiFactory.AdminKey });
        using var files = new DatasetFiles(new MemoryStream(IdxBuilder.Gzip(images)), new MemoryStream(labels));
        Dataset uploaded = await client.Datasets.UploadIdxAsync("kestrel", files);
        using HttpClient http = api.CreateClient();
        JsonElement rest = await http.GetFromJsonAsync<JsonElement>($"/api/v1/datasets/{uploaded.Id}");
        using GrpcChannel channel = GrpcChannel.ForAddress(grpcAddress);
        using var reflection = new ServerReflection.ServerReflectionClient(channel.Intercept(m =>
        {
            m.Add("x-api-key", ApiFactory.AdminKey);
            return m;
        })).ServerReflectionInfo();
        await reflection.RequestStream.WriteAsync(new ServerReflectionRequest { ListServices = "" });
        await reflection.RequestStream.CompleteAsync();
        Assert.True(await reflection.ResponseStream.MoveNext(CancellationToken.None));
        string[] services = reflection.ResponseStream.Current.ListServicesResponse.Service.Select(s => s.Name).ToArray();

        using TrainingClient keyless = TrainingClient.Create(grpcAddress, new TrainingClientOptions { ApiKey = "" });
        using var again = new DatasetFiles(new MemoryStream(IdxBuilder.Gzip(images)), new MemoryStream(labels));
        RpcException refused = await Assert.ThrowsAsync<RpcException>(() => keyless.Datasets.UploadIdxAsync("no-key", again));

        Assert.Equal(StatusCode.Unauthenticated, refused.StatusCode);
        Assert.Equal(uploaded.Samples, rest.GetProperty("samples").GetInt32());
        Assert.Equal(uploaded.ContentHash, rest.GetProperty("contentHash").GetString());
        Assert.Contains("training.v1.DatasetService", services);
        Assert.Contains("training.v1.VariantService", services);
    }

    public void Dispose()
    {
        if (Directory.Exists(_dataDirectory))
        {
            Directory.Delete(_dataDirectory, recursive: true);
        }
    }
}

extern alias sdk;

using Grpc.Core;
using Grpc.Net.Client;
using V1 = sdk::TrainingService.Sdk.V1;

namespace Api.IntegrationTests;

/// <summary>Issue 11: while the database is unreachable the Api answers 503 problem+json with Retry-After (gRPC: UNAVAILABLE), never 500.</summary>
public sealed class DatabaseDownTests(ProxiedPostgresApi api) : IClassFixture<ProxiedPostgresApi>
{
    [Fact]
    public async Task Requests_DatabaseStopped_Answer503WithRetryAfterAndGrpcUnavailable_ThenRecover()
    {
        // Arrange: a dataset to read and submit against, and a warm key cache and connection pool.
        HttpClient client = api.CreateClient();
        Guid datasetId = await ApiClient.UploadDatasetAsync(client);
        using GrpcChannel channel = GrpcChannel.ForAddress(api.Server.BaseAddress, new GrpcChannelOptions { HttpHandler = api.CreateGrpcHandler() });
        var datasets = new V1.DatasetService.DatasetServiceClient(channel);
        await datasets.GetDatasetAsync(new V1.GetDatasetRequest { Id = datasetId.ToString() });
        Func<Task<HttpResponseMessage>>[] requests =
        [
            () => client.GetAsync("/api/v1/jobs"),
            () => client.GetAsync($"/api/v1/datasets/{datasetId}"),
            () => client.PostAsJsonAsync("/api/v1/jobs", ApiClient.JobSpec(datasetId, epochs: 1)),
        ];

        api.Proxy.Stop();
        try
        {
            // Act
            foreach (Func<Task<HttpResponseMessage>> request in requests)
            {
                using HttpResponseMessage response = await request();

                // Assert
                string body = await response.Content.ReadAsStringAsync();
                Assert.True(response.StatusCode == HttpStatusCode.ServiceUnavailable,
                    $"{response.RequestMessage!.Method} {response.RequestMessage.RequestUri}: expected 503, got {(int)response.StatusCode}: {body}");
                Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
                Assert.Equal(TimeSpan.FromSeconds(5), response.Headers.RetryAfter?.Delta);
                Assert.Equal(503, JsonDocument.Parse(body).RootElement.GetProperty("status").GetInt32());
            }
            RpcException error = await Assert.ThrowsAsync<RpcException>(
                async () => await datasets.GetDatasetAsync(new V1.GetDatasetRequest { Id = datasetId.ToString() }));
            Assert.Equal(StatusCode.Unavailable, error.StatusCode);
            // A key not in the cache fails in the key lookup, before the gRPC service runs: still UNAVAILABLE, not a 500.
            using GrpcChannel uncached = GrpcChannel.ForAddress(api.Server.BaseAddress, new GrpcChannelOptions
            {
                HttpHandler = api.CreateGrpcHandler("tsk_uncached-key-0000000000000000000000"),
            });
            RpcException lookup = await Assert.ThrowsAsync<RpcException>(
                async () => await new V1.DatasetService.DatasetServiceClient(uncached).GetDatasetAsync(new V1.GetDatasetRequest { Id = datasetId.ToString() }));
            Assert.Equal(StatusCode.Unavailable, lookup.StatusCode);
        }
        finally
        {
            api.Proxy.Start();
        }

        // The database is back: the same requests succeed (the pool may need a moment to drop its dead connections).
        DateTime deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            using HttpResponseMessage response = await requests[1]();
            if (response.StatusCode == HttpStatusCode.OK)
            {
                break;
            }
            Assert.True(DateTime.UtcNow < deadline, $"no recovery: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            await Task.Delay(250);
        }
        using (HttpResponseMessage jobs = await requests[0]())
        {
            Assert.Equal(HttpStatusCode.OK, jobs.StatusCode);
        }
        V1.Dataset dataset = await datasets.GetDatasetAsync(new V1.GetDatasetRequest { Id = datasetId.ToString() });
        Assert.Equal(datasetId.ToString(), dataset.Id);
    }
}

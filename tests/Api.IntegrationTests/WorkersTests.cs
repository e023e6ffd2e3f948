extern alias sdk;

using Grpc.Core;
using sdk::TrainingService.Sdk;
using V1 = sdk::TrainingService.Sdk.V1;

namespace Api.IntegrationTests;

/// <summary>
/// The worker registry (<c>GET /api/v1/workers</c>, <c>training.v1.WorkerService/ListWorkers</c> through the SDK)
/// against the Api's in-process worker: what it lists, that only admin keys may call it, and that a running
/// job's id is shown to its own tenant only.
/// </summary>
public abstract class WorkersTests<TApi>(TApi api) where TApi : ApiFactory
{
    private TrainingClient Sdk(string apiKey) =>
        TrainingClient.Create(api.Server.BaseAddress, new TrainingClientOptions { HttpHandler = api.CreateGrpcHandler(apiKey) });

    private async Task<string> NewTenantKeyAsync(bool admin)
    {
        HttpClient root = api.CreateClient();
        using HttpResponseMessage tenant = await root.PostAsJsonAsync("/api/v1/tenants", new { name = $"w-{Guid.NewGuid():N}"[..16] });
        Assert.Equal(HttpStatusCode.Created, tenant.StatusCode);
        Guid id = (await tenant.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        using HttpResponseMessage key = await root.PostAsJsonAsync($"/api/v1/tenants/{id}/keys", new { name = "ops", isAdmin = admin });
        Assert.Equal(HttpStatusCode.Created, key.StatusCode);
        return (await key.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("key").GetString()!;
    }

    /// <summary>Polls the REST list until <paramref name="until"/> holds for one worker (the announcement is written just after start-up).</summary>
    private static async Task<JsonElement> WaitForWorkerAsync(HttpClient client, Func<JsonElement, bool> until, TimeSpan timeout)
    {
        DateTime deadline = DateTime.UtcNow + timeout;
        string last = "";
        while (DateTime.UtcNow < deadline)
        {
            using HttpResponseMessage response = await client.GetAsync("/api/v1/workers");
            last = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.OK, last);
            if (JsonSerializer.Deserialize<JsonElement>(last).EnumerateArray().FirstOrDefault(until) is { ValueKind: JsonValueKind.Object } worker)
            {
                return worker;
            }
            await Task.Delay(200);
        }
        throw new TimeoutException($"No worker as expected within {timeout}: {last}");
    }

    [Fact]
    public async Task ListWorkers_EmbeddedWorker_RestAndGrpcListHostDeviceTorchVersionsSlotsAndHeartbeat()
    {
        HttpClient client = api.CreateClient();

        JsonElement worker = await WaitForWorkerAsync(client, w => w.TryGetProperty("devices", out JsonElement d) && d.GetArrayLength() > 0, TimeSpan.FromSeconds(30));
        using TrainingClient sdk = Sdk(ApiFactory.AdminKey);
        V1.WorkerInfo message = Assert.Single(await sdk.Workers.ListAsync());

        Assert.Equal(Environment.MachineName, worker.GetProperty("host").GetString());
        Assert.Equal(["cpu"], worker.GetProperty("devices").EnumerateArray().Select(d => d.GetString()));
        Assert.Equal(typeof(TorchSharp.torch).Assembly.GetName().Version!.ToString(), worker.GetProperty("torchSharpVersion").GetString());
        Assert.Equal(TorchSharp.torch.__version__, worker.GetProperty("libTorchVersion").GetString());
        Assert.Equal(1, worker.GetProperty("slots").GetInt32());
        DateTime heartbeat = worker.GetProperty("lastHeartbeat").GetDateTime().ToUniversalTime();
        Assert.InRange(DateTime.UtcNow - heartbeat, TimeSpan.FromSeconds(-5), TimeSpan.FromMinutes(2));
        Assert.StartsWith($"{Environment.MachineName}:{Environment.ProcessId}:".ToLowerInvariant(), worker.GetProperty("id").GetString(), StringComparison.Ordinal);

        Assert.Equal(worker.GetProperty("id").GetString(), message.Id);
        Assert.Equal(Environment.MachineName, message.Host);
        Assert.Equal(["cpu"], message.Devices);
        Assert.Equal(worker.GetProperty("torchSharpVersion").GetString(), message.TorchsharpVersion);
        Assert.Equal(worker.GetProperty("libTorchVersion").GetString(), message.LibtorchVersion);
        Assert.Equal(1, message.Slots);
        Assert.NotNull(message.LastHeartbeat);
        Assert.NotNull(message.StartedAt);
    }

    [Fact]
    public async Task ListWorkers_NonAdminKey_Gets403AndPermissionDenied()
    {
        string key = await NewTenantKeyAsync(admin: false);

        using HttpResponseMessage rest = await api.CreateClient(key).GetAsync("/api/v1/workers");
        using TrainingClient sdk = Sdk(key);
        RpcException grpc = await Assert.ThrowsAsync<RpcException>(() => sdk.Workers.ListAsync());

        Assert.Equal(HttpStatusCode.Forbidden, rest.StatusCode);
        Assert.Equal("application/problem+json", rest.Content.Headers.ContentType?.MediaType);
        Assert.Equal(StatusCode.PermissionDenied, grpc.StatusCode);
    }

    [Fact]
    public async Task ListWorkers_WhileAJobTrains_OwnTenantSeesItsIdAnotherTenantsAdminSeesABusySlotWithoutIt()
    {
        HttpClient owner = api.CreateClient();
        string otherAdmin = await NewTenantKeyAsync(admin: true);
        Guid datasetId = await ApiClient.UploadDatasetAsync(owner, new IdxBuilder { Samples = 600, Seed = ApiClient.UniqueSeed() });
        using HttpResponseMessage submitted = await owner.PostAsJsonAsync("/api/v1/jobs", ApiClient.JobSpec(datasetId, epochs: 200, hidden: [64]));
        Assert.Equal(HttpStatusCode.Accepted, submitted.StatusCode);
        Guid jobId = (await submitted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        try
        {
            JsonElement own = await WaitForWorkerAsync(owner, w => w.GetProperty("currentJobs").EnumerateArray()
                .Any(j => j.TryGetProperty("jobId", out JsonElement id) && id.GetGuid() == jobId), TimeSpan.FromMinutes(2));
            using HttpResponseMessage other = await api.CreateClient(otherAdmin).GetAsync("/api/v1/workers");
            string otherBody = await other.Content.ReadAsStringAsync();
            using TrainingClient ownSdk = Sdk(ApiFactory.AdminKey);
            using TrainingClient otherSdk = Sdk(otherAdmin);
            IReadOnlyList<V1.WorkerInfo> ownGrpc = await ownSdk.Workers.ListAsync();
            IReadOnlyList<V1.WorkerInfo> otherGrpc = await otherSdk.Workers.ListAsync();

            Assert.Equal("busy", own.GetProperty("status").GetString());
            Assert.Equal(HttpStatusCode.OK, other.StatusCode);
            Assert.DoesNotContain(jobId.ToString(), otherBody, StringComparison.OrdinalIgnoreCase);
            JsonElement seen = Assert.Single(JsonSerializer.Deserialize<JsonElement>(otherBody).EnumerateArray(),
                w => w.GetProperty("id").GetString() == own.GetProperty("id").GetString());
            Assert.Equal("busy", seen.GetProperty("status").GetString());
            JsonElement slot = Assert.Single(seen.GetProperty("currentJobs").EnumerateArray());
            Assert.False(slot.TryGetProperty("jobId", out _), slot.ToString());
            Assert.True(slot.TryGetProperty("startedAt", out _), slot.ToString());

            Assert.Contains(ownGrpc.SelectMany(w => w.CurrentJobs), j => j.HasJobId && j.JobId == jobId.ToString());
            V1.WorkerJob hidden = Assert.Single(Assert.Single(otherGrpc, w => w.Id == own.GetProperty("id").GetString()).CurrentJobs);
            Assert.False(hidden.HasJobId);
            Assert.Equal("busy", otherGrpc.Single(w => w.Id == own.GetProperty("id").GetString()).Status);
        }
        finally
        {
            (await owner.PostAsync($"/api/v1/jobs/{jobId}/cancel", null)).Dispose();
            await ApiClient.WaitForJobAsync(owner, jobId, j => j.Status() is "Cancelled" or "Succeeded" or "Failed", TimeSpan.FromMinutes(1));
        }
    }
}

public sealed class SqliteWorkersTests(SqliteApi api) : WorkersTests<SqliteApi>(api), IClassFixture<SqliteApi>;

public sealed class PostgresWorkersTests(PostgresApi api) : WorkersTests<PostgresApi>(api), IClassFixture<PostgresApi>;

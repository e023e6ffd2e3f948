extern alias sdk;

using Google.Protobuf;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using V1 = sdk::TrainingService.Sdk.V1;

namespace Api.IntegrationTests;

/// <summary>
/// The authorisation matrix: for every REST endpoint and every gRPC method, a second tenant gets 404 /
/// NOT_FOUND for the first tenant's resources (never 403: existence stays hidden), its lists never show
/// them, operations that need a role (tenants, keys, workers) answer 403 / PERMISSION_DENIED to its member key,
/// and a request without a key gets 401 / UNAUTHENTICATED. Both tests fail when an endpoint or a
/// method is added without a case here. The role matrix then runs every tenant, key and worker operation as a
/// service admin, a tenant admin of tenant A, a tenant admin of tenant B, a member of A and without a key.
/// </summary>
public abstract class TenantIsolationTests
{
    private const string SharedIdempotencyKey = "tenant-matrix-key";

    /// <summary>What tenant A owns, created once per Api fixture.</summary>
    private sealed record World(
        Guid Dataset, byte[] DatasetImages, byte[] DatasetLabels, Guid Job, Guid Run, string BuiltInDevice,
        string DeviceRest, string DeviceGrpc, string KeyB);

    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<IMatrixTarget, Task<World>> s_worlds = new();

    /// <summary>The server the matrix runs against.</summary>
    protected abstract IMatrixTarget Target { get; }

    private Task<World> WorldAsync() => s_worlds.GetValue(Target, target => CreateWorldAsync(target.Client(ApiFactory.AdminKey)));

    private static async Task<World> CreateWorldAsync(HttpClient a)
    {
        (Guid run, _, _) = await ApiClient.TrainRunWithTestSplitAsync(a, "tenant-a-run");
        JsonElement runBody = await a.GetFromJsonAsync<JsonElement>($"/api/v1/runs/{run}");
        Guid job = runBody.GetProperty("jobId").GetGuid();

        (byte[] images, byte[] labels) = new IdxBuilder { Seed = ApiClient.UniqueSeed() }.Build();
        using HttpResponseMessage uploaded = await a.PostAsync("/api/v1/datasets", ApiClient.DatasetForm("tenant-a", images, labels));
        Assert.Equal(HttpStatusCode.Created, uploaded.StatusCode);
        Guid dataset = (await uploaded.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();

        // A job with an idempotency key, cancelled before it trains.
        using var submit = new HttpRequestMessage(HttpMethod.Post, "/api/v1/jobs") { Content = JsonContent.Create(ApiClient.JobSpec(dataset)) };
        submit.Headers.Add("Idempotency-Key", SharedIdempotencyKey);
        using HttpResponseMessage submitted = await a.SendAsync(submit);
        Assert.Equal(HttpStatusCode.Accepted, submitted.StatusCode);
        Guid keyedJob = (await submitted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        (await a.PostAsync($"/api/v1/jobs/{keyedJob}/cancel", null)).Dispose();

        JsonElement devices = await a.GetFromJsonAsync<JsonElement>("/api/v1/devices");
        string builtIn = devices.EnumerateArray().First(d => d.GetProperty("builtIn").GetBoolean()).GetProperty("name").GetString()!;
        foreach (string name in new[] { "a-phone", "a-watch" })
        {
            using HttpResponseMessage created = await a.PostAsJsonAsync("/api/v1/devices", new { name });
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
            using HttpResponseMessage posted = await a.PostAsJsonAsync($"/api/v1/devices/{name}/latencies",
                new { runId = run, measurements = new[] { new { rankFraction = 1.0, batch = 1, medianMs = 2.0 } } });
            Assert.Equal(HttpStatusCode.OK, posted.StatusCode);
        }

        using HttpResponseMessage tenant = await a.PostAsJsonAsync("/api/v1/tenants", new { name = $"tenant-b-{Guid.NewGuid():N}"[..20] });
        Assert.Equal(HttpStatusCode.Created, tenant.StatusCode);
        Guid tenantB = (await tenant.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        using HttpResponseMessage key = await a.PostAsJsonAsync($"/api/v1/tenants/{tenantB}/keys", new { name = "matrix" });
        Assert.Equal(HttpStatusCode.Created, key.StatusCode);
        string keyB = (await key.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("key").GetString()!;
        return new World(dataset, images, labels, job, run, builtIn, "a-phone", "a-watch", keyB);
    }

    /// <summary>One REST endpoint: the request tenant B sends (about A's resources), and what B must get.</summary>
    private sealed record RestCase(string Endpoint, Func<World, HttpRequestMessage> Request, Func<World, HttpResponseMessage, Task> Expect);

    private static Task NotFound(World w, HttpResponseMessage r) => ExpectStatusAsync(r, HttpStatusCode.NotFound);

    private static Task Forbidden(World w, HttpResponseMessage r) => ExpectStatusAsync(r, HttpStatusCode.Forbidden);

    private static async Task ExpectStatusAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        string body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"expected {(int)status}, got {(int)response.StatusCode}: {body}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    private static Func<World, HttpResponseMessage, Task> ListWithout(Func<World, Guid> aId) => async (w, r) =>
    {
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        JsonElement page = await r.Content.ReadFromJsonAsync<JsonElement>();
        Assert.DoesNotContain(page.GetProperty("items").EnumerateArray(), i => i.GetProperty("id").GetGuid() == aId(w));
    };

    private static HttpRequestMessage Get(string path) => new(HttpMethod.Get, path);

    private static HttpRequestMessage PostJson(string path, object body) => new(HttpMethod.Post, path) { Content = JsonContent.Create(body) };

    private static IReadOnlyList<RestCase> RestCases() =>
    [
        new("CreateDataset", w => new HttpRequestMessage(HttpMethod.Post, "/api/v1/datasets")
            {
                Content = ApiClient.DatasetForm("same-content", w.DatasetImages, w.DatasetLabels),
            },
            async (w, r) =>
            {
                // Content-hash dedupe stays within a tenant: B's upload of A's bytes is a dataset of B (201, or 200
                // when B already uploaded it over gRPC in the other test).
                Assert.True(r.StatusCode is HttpStatusCode.Created or HttpStatusCode.OK, r.StatusCode.ToString());
                Assert.NotEqual(w.Dataset, (await r.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid());
            }),
        new("GetDataset", w => Get($"/api/v1/datasets/{w.Dataset}"), NotFound),
        new("GetDatasetSamples", w => Get($"/api/v1/datasets/{w.Dataset}/samples.png"), NotFound),
        new("ListDatasets", _ => Get("/api/v1/datasets"), ListWithout(w => w.Dataset)),
        new("SubmitJob", w => PostJson("/api/v1/jobs", ApiClient.JobSpec(w.Dataset)),
            // A reference in the body is a field error, worded exactly as for a dataset that does not exist.
            async (w, r) =>
            {
                string body = await r.Content.ReadAsStringAsync();
                Assert.True(r.StatusCode == HttpStatusCode.BadRequest, body);
                Assert.Contains($"dataset '{w.Dataset}' does not exist", body, StringComparison.Ordinal);
            }),
        new("GetJob", w => Get($"/api/v1/jobs/{w.Job}"), NotFound),
        new("ListJobs", w => Get($"/api/v1/jobs?datasetId={w.Dataset}"), async (w, r) =>
        {
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
            Assert.Equal(0, (await r.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("total").GetInt32());
        }),
        new("CancelJob", w => new HttpRequestMessage(HttpMethod.Post, $"/api/v1/jobs/{w.Job}/cancel"), NotFound),
        new("GetRun", w => Get($"/api/v1/runs/{w.Run}"), NotFound),
        new("ListRuns", w => Get($"/api/v1/runs?jobId={w.Job}"), async (w, r) =>
        {
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
            Assert.Equal(0, (await r.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("total").GetInt32());
        }),
        new("GetRunCurve", w => Get($"/api/v1/runs/{w.Run}/curve"), NotFound),
        new("GetRunCurvePng", w => Get($"/api/v1/runs/{w.Run}/curve.png"), NotFound),
        new("GetRunCurveSvg", w => Get($"/api/v1/runs/{w.Run}/curve.svg"), NotFound),
        new("ListVariants", w => Get($"/api/v1/runs/{w.Run}/variants"), NotFound),
        new("SelectVariant", w => Get($"/api/v1/runs/{w.Run}/variants/select?device={w.BuiltInDevice}&latencyBudgetMs=1000"), NotFound),
        new("DownloadVariant", w => Get($"/api/v1/runs/{w.Run}/variants/1/model?format=onnx"), NotFound),
        new("ListDevices", _ => Get("/api/v1/devices"), async (w, r) =>
        {
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
            JsonElement[] devices = (await r.Content.ReadFromJsonAsync<JsonElement>()).EnumerateArray().ToArray();
            Assert.DoesNotContain(devices, d => d.GetProperty("name").GetString() == w.DeviceRest);
            // Built-in profiles are shared, but B has no measurements of its own on them.
            JsonElement builtIn = Assert.Single(devices, d => d.GetProperty("name").GetString() == w.BuiltInDevice);
            Assert.Equal(0, builtIn.GetProperty("measurements").GetInt32());
        }),
        new("GetDevice", w => Get($"/api/v1/devices/{w.DeviceRest}"), NotFound),
        new("PostDeviceLatencies", w => PostJson($"/api/v1/devices/{w.DeviceRest}/latencies",
            new { runId = w.Run, measurements = new[] { new { rankFraction = 1.0, batch = 1, medianMs = 1.0 } } }), NotFound),
        new("CreateDevice", w => PostJson("/api/v1/devices", new { name = w.DeviceRest }), async (w, r) =>
        {
            // Device names are per tenant: A's profile neither blocks nor is revealed by B's.
            Assert.Equal(HttpStatusCode.Created, r.StatusCode);
            Assert.Equal(0, (await r.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("measurements").GetInt32());
        }),
        new("WhoAmI", _ => Get("/api/v1/me"), async (w, r) =>
        {
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
            JsonElement me = await r.Content.ReadFromJsonAsync<JsonElement>();
            Assert.NotEqual(Domain.Tenants.Tenant.DefaultId, me.GetProperty("tenantId").GetGuid());
            Assert.Equal("Member", me.GetProperty("role").GetString());
            Assert.False(me.GetProperty("isAdmin").GetBoolean());
        }),
        // Tenant administration needs a role: B's member key is refused whatever the target (the role matrix below has the rest).
        new("ListTenants", _ => Get("/api/v1/tenants"), Forbidden),
        new("CreateTenant", _ => PostJson("/api/v1/tenants", new { name = "sneaky" }), Forbidden),
        new("ListApiKeys", _ => Get($"/api/v1/tenants/{Domain.Tenants.Tenant.DefaultId}/keys"), Forbidden),
        new("CreateApiKey", _ => PostJson($"/api/v1/tenants/{Domain.Tenants.Tenant.DefaultId}/keys", new { name = "sneaky", isAdmin = true }), Forbidden),
        new("RevokeApiKey", _ => new HttpRequestMessage(HttpMethod.Delete, $"/api/v1/tenants/{Domain.Tenants.Tenant.DefaultId}/keys/{Guid.NewGuid()}"), Forbidden),
        // The worker registry is fleet-wide operations data: tenant admins and service admins only.
        new("ListWorkers", _ => Get("/api/v1/workers"), Forbidden),
    ];

    internal static string[] RestEndpoints(IServiceProvider services) =>
        services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText?.StartsWith("/api/", StringComparison.Ordinal) == true)
            .Select(e => e.Metadata.GetMetadata<IEndpointNameMetadata>()?.EndpointName ?? e.RoutePattern.RawText!)
            .Order().ToArray();

    internal static string[] RestCaseNames() => RestCases().Select(c => c.Endpoint).Order().ToArray();

    internal static string[] GrpcCaseNames() => GrpcCases().Select(c => c.Method).Order().ToArray();

    [Fact]
    public async Task RestMatrix_SecondTenantGets404ForFirstTenantsResources_NoKeyGets401()
    {
        World w = await WorldAsync();
        HttpClient b = Target.Client(w.KeyB);
        HttpClient anonymous = Target.Client(apiKey: null);
        HttpClient wrongKey = Target.Client("tsk_not-a-key-of-anyone-000000000");
        var failures = new List<string>();
        foreach (RestCase c in RestCases())
        {
            foreach ((string who, HttpClient client) in new[] { ("no key", anonymous), ("unknown key", wrongKey) })
            {
                using HttpResponseMessage refused = await client.SendAsync(c.Request(w));
                if (refused.StatusCode != HttpStatusCode.Unauthorized || refused.Headers.WwwAuthenticate.Count == 0)
                {
                    failures.Add($"{c.Endpoint} with {who}: {(int)refused.StatusCode}, expected 401 with WWW-Authenticate");
                }
            }
            using HttpResponseMessage response = await b.SendAsync(c.Request(w));
            try
            {
                await c.Expect(w, response);
            }
            catch (Exception ex) when (ex is Xunit.Sdk.XunitException)
            {
                failures.Add($"{c.Endpoint} as tenant B: {ex.Message}");
            }
        }

        // Idempotency keys are per tenant: B reusing A's key creates B's own job.
        Guid bDataset = await ApiClient.UploadDatasetAsync(b);
        using var submit = new HttpRequestMessage(HttpMethod.Post, "/api/v1/jobs") { Content = JsonContent.Create(ApiClient.JobSpec(bDataset)) };
        submit.Headers.Add("Idempotency-Key", SharedIdempotencyKey);
        using HttpResponseMessage submitted = await b.SendAsync(submit);
        Assert.True(submitted.StatusCode == HttpStatusCode.Accepted, await submitted.Content.ReadAsStringAsync());
        Guid bJob = (await submitted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        (await b.PostAsync($"/api/v1/jobs/{bJob}/cancel", null)).Dispose();

        // And A still sees everything it had.
        HttpClient a = Target.Client(ApiFactory.AdminKey);
        Assert.Equal(HttpStatusCode.OK, (await a.GetAsync($"/api/v1/runs/{w.Run}")).StatusCode);
        JsonElement aPhone = await a.GetFromJsonAsync<JsonElement>($"/api/v1/devices/{w.DeviceRest}");
        Assert.Equal(1, aPhone.GetProperty("measurements").GetInt32());
        Assert.True(failures.Count == 0, string.Join('\n', failures));
    }

    /// <summary>
    /// One gRPC method: the call tenant B makes about A's resources, and either the status code it must fail
    /// with or a check of its result.
    /// </summary>
    private sealed record GrpcCase(string Method, Func<World, CallInvoker, Task<object?>> Call, StatusCode? Fails = null, Action<World, object?>? Check = null);

    private static async Task<object?> Unary<T>(AsyncUnaryCall<T> call)
    {
        using (call)
        {
            return await call;
        }
    }

    private static async Task<object?> FirstMessage<T>(AsyncServerStreamingCall<T> call)
    {
        using (call)
        {
            return await call.ResponseStream.MoveNext(CancellationToken.None) ? call.ResponseStream.Current : null;
        }
    }

    private static IReadOnlyList<GrpcCase> GrpcCases() =>
    [
        new("training.v1.DatasetService/UploadDataset", async (w, invoker) =>
        {
            using AsyncClientStreamingCall<V1.UploadDatasetRequest, V1.Dataset> call = new V1.DatasetService.DatasetServiceClient(invoker).UploadDataset();
            try
            {
                await call.RequestStream.WriteAsync(new V1.UploadDatasetRequest { Metadata = new V1.DatasetMetadata { Name = "same-content", Format = "idx" } });
                await call.RequestStream.WriteAsync(new V1.UploadDatasetRequest { Chunk = new V1.DatasetChunk { File = V1.DatasetFile.Images, Data = ByteString.CopyFrom(w.DatasetImages) } });
                await call.RequestStream.WriteAsync(new V1.UploadDatasetRequest { Chunk = new V1.DatasetChunk { File = V1.DatasetFile.Labels, Data = ByteString.CopyFrom(w.DatasetLabels) } });
                await call.RequestStream.CompleteAsync();
            }
            catch (RpcException)
            {
                // The server answered before the upload was sent (an unauthenticated call): its status is in the response.
            }
            return await call;
        }, Check: (w, r) => Assert.NotEqual(w.Dataset.ToString(), ((V1.Dataset)r!).Id)),
        new("training.v1.DatasetService/GetDataset",
            (w, i) => Unary(new V1.DatasetService.DatasetServiceClient(i).GetDatasetAsync(new V1.GetDatasetRequest { Id = w.Dataset.ToString() })),
            StatusCode.NotFound),
        new("training.v1.DatasetService/ListDatasets",
            (w, i) => Unary(new V1.DatasetService.DatasetServiceClient(i).ListDatasetsAsync(new V1.ListDatasetsRequest())),
            Check: (w, r) => Assert.DoesNotContain(((V1.ListDatasetsResponse)r!).Items, d => d.Id == w.Dataset.ToString())),
        new("training.v1.JobService/SubmitJob",
            (w, i) => Unary(new V1.JobService.JobServiceClient(i).SubmitJobAsync(new V1.SubmitJobRequest
            {
                SpecJson = JsonSerializer.Serialize(ApiClient.JobSpec(w.Dataset), ApiClient.Json),
            })),
            StatusCode.InvalidArgument),
        new("training.v1.JobService/GetJob",
            (w, i) => Unary(new V1.JobService.JobServiceClient(i).GetJobAsync(new V1.GetJobRequest { Id = w.Job.ToString() })), StatusCode.NotFound),
        new("training.v1.JobService/ListJobs",
            (w, i) => Unary(new V1.JobService.JobServiceClient(i).ListJobsAsync(new V1.ListJobsRequest { DatasetId = w.Dataset.ToString() })),
            Check: (w, r) => Assert.Equal(0, ((V1.ListJobsResponse)r!).Total)),
        new("training.v1.JobService/CancelJob",
            (w, i) => Unary(new V1.JobService.JobServiceClient(i).CancelJobAsync(new V1.CancelJobRequest { Id = w.Job.ToString() })), StatusCode.NotFound),
        new("training.v1.JobService/WatchJob",
            (w, i) => FirstMessage(new V1.JobService.JobServiceClient(i).WatchJob(new V1.WatchJobRequest { JobId = w.Job.ToString() })), StatusCode.NotFound),
        new("training.v1.RunService/GetRun",
            (w, i) => Unary(new V1.RunService.RunServiceClient(i).GetRunAsync(new V1.GetRunRequest { Id = w.Run.ToString() })), StatusCode.NotFound),
        new("training.v1.RunService/ListRuns",
            (w, i) => Unary(new V1.RunService.RunServiceClient(i).ListRunsAsync(new V1.ListRunsRequest { JobId = w.Job.ToString() })),
            Check: (w, r) => Assert.Equal(0, ((V1.ListRunsResponse)r!).Total)),
        new("training.v1.RunService/GetCurve",
            (w, i) => Unary(new V1.RunService.RunServiceClient(i).GetCurveAsync(new V1.GetCurveRequest { RunId = w.Run.ToString() })), StatusCode.NotFound),
        new("training.v1.VariantService/ListVariants",
            (w, i) => Unary(new V1.VariantService.VariantServiceClient(i).ListVariantsAsync(new V1.ListVariantsRequest { RunId = w.Run.ToString() })),
            StatusCode.NotFound),
        new("training.v1.VariantService/SelectVariant",
            (w, i) => Unary(new V1.VariantService.VariantServiceClient(i).SelectVariantAsync(new V1.SelectVariantRequest
            {
                RunId = w.Run.ToString(), Device = w.BuiltInDevice, LatencyBudgetMs = 1000,
            })),
            StatusCode.NotFound),
        new("training.v1.VariantService/FetchVariant",
            (w, i) => FirstMessage(new V1.VariantService.VariantServiceClient(i).FetchVariant(new V1.FetchVariantRequest
            {
                RunId = w.Run.ToString(), RankFraction = 1, Format = V1.VariantFormat.Onnx,
            })),
            StatusCode.NotFound),
        new("training.v1.DeviceService/ListDevices",
            (w, i) => Unary(new V1.DeviceService.DeviceServiceClient(i).ListDevicesAsync(new V1.ListDevicesRequest())),
            Check: (w, r) => Assert.DoesNotContain(((V1.ListDevicesResponse)r!).Items, d => d.Name == w.DeviceGrpc)),
        new("training.v1.DeviceService/GetDevice",
            (w, i) => Unary(new V1.DeviceService.DeviceServiceClient(i).GetDeviceAsync(new V1.GetDeviceRequest { Name = w.DeviceGrpc })), StatusCode.NotFound),
        new("training.v1.DeviceService/PostLatencies",
            (w, i) => Unary(new V1.DeviceService.DeviceServiceClient(i).PostLatenciesAsync(new V1.PostLatenciesRequest
            {
                Device = w.DeviceGrpc, RunId = w.Run.ToString(), Measurements = { new V1.LatencyMeasurement { RankFraction = 1, Batch = 1, MedianMs = 1 } },
            })),
            StatusCode.NotFound),
        new("training.v1.DeviceService/CreateDevice",
            (w, i) => Unary(new V1.DeviceService.DeviceServiceClient(i).CreateDeviceAsync(new V1.CreateDeviceRequest { Name = w.DeviceGrpc })),
            Check: (w, r) => Assert.Equal(0, ((V1.Device)r!).Measurements)),
        new("training.v1.WorkerService/ListWorkers",
            (w, i) => Unary(new V1.WorkerService.WorkerServiceClient(i).ListWorkersAsync(new V1.ListWorkersRequest())),
            StatusCode.PermissionDenied),
    ];

    private static async Task<StatusCode?> CodeOfAsync(Func<Task> call)
    {
        try
        {
            await call();
            return null;
        }
        catch (RpcException ex)
        {
            return ex.StatusCode;
        }
    }

    [Fact]
    public async Task GrpcMatrix_SecondTenantGetsNotFoundForFirstTenantsResources_NoKeyGetsUnauthenticated()
    {
        World w = await WorldAsync();
        CallInvoker b = Target.Grpc(w.KeyB);
        CallInvoker anonymous = Target.Grpc(null);
        var failures = new List<string>();
        foreach (GrpcCase c in GrpcCases())
        {
            StatusCode? anonymousCode = await CodeOfAsync(() => c.Call(w, anonymous));
            if (anonymousCode != StatusCode.Unauthenticated)
            {
                failures.Add($"{c.Method} without a key: {anonymousCode?.ToString() ?? "succeeded"}, expected Unauthenticated");
            }
            try
            {
                object? result = null;
                StatusCode? code = await CodeOfAsync(async () => result = await c.Call(w, b));
                Assert.True(code == c.Fails, $"expected {c.Fails?.ToString() ?? "success"}, got {code?.ToString() ?? "success"}");
                c.Check?.Invoke(w, result);
            }
            catch (Xunit.Sdk.XunitException ex)
            {
                failures.Add($"{c.Method} as tenant B: {ex.Message}");
            }
        }
        Assert.True(failures.Count == 0, string.Join('\n', failures));
    }

    /// <summary>Who calls in the role matrix, in the order of <see cref="RoleCase.Expected"/>.</summary>
    private static readonly string[] s_callers = ["service admin", "tenant admin of A", "tenant admin of B", "member of A", "no key"];

    /// <summary>Tenants A and B, and the keys of <see cref="s_callers"/> (the service admin is the bootstrap key; no key is null).</summary>
    private sealed record RoleWorld(Guid A, Guid B, string?[] Keys);

    private static async Task<RoleWorld> CreateRoleWorldAsync(HttpClient serviceAdmin)
    {
        Guid a = await NewTenantAsync(serviceAdmin, "roles-a");
        Guid b = await NewTenantAsync(serviceAdmin, "roles-b");
        return new RoleWorld(a, b,
        [
            ApiFactory.AdminKey,
            (await NewKeyAsync(serviceAdmin, a, "TenantAdmin")).Key,
            (await NewKeyAsync(serviceAdmin, b, "TenantAdmin")).Key,
            (await NewKeyAsync(serviceAdmin, a, "Member")).Key,
            null,
        ]);
    }

    private static async Task<Guid> NewTenantAsync(HttpClient serviceAdmin, string prefix)
    {
        using HttpResponseMessage tenant = await serviceAdmin.PostAsJsonAsync("/api/v1/tenants", new { name = $"{prefix}-{Guid.NewGuid():N}"[..24] });
        Assert.Equal(HttpStatusCode.Created, tenant.StatusCode);
        return (await tenant.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
    }

    private static async Task<(string Key, Guid Id)> NewKeyAsync(HttpClient serviceAdmin, Guid tenant, string role)
    {
        using HttpResponseMessage key = await serviceAdmin.PostAsJsonAsync($"/api/v1/tenants/{tenant}/keys", new { name = "roles", role });
        Assert.Equal(HttpStatusCode.Created, key.StatusCode);
        JsonElement body = await key.Content.ReadFromJsonAsync<JsonElement>();
        return (body.GetProperty("key").GetString()!, body.GetProperty("id").GetGuid());
    }

    /// <summary>
    /// One operation in the role matrix: the request (built fresh for each caller, with the service admin's client for
    /// set-up such as a key to revoke) and the status each caller of <see cref="s_callers"/> must get.
    /// </summary>
    private sealed record RoleCase(string Endpoint, string What, Func<RoleWorld, HttpClient, Task<HttpRequestMessage>> Request, int[] Expected);

    private static Func<RoleWorld, HttpClient, Task<HttpRequestMessage>> Plain(Func<RoleWorld, HttpRequestMessage> request) =>
        (w, _) => Task.FromResult(request(w));

    private static Func<RoleWorld, HttpClient, Task<HttpRequestMessage>> RevokeFresh(Func<RoleWorld, Guid> tenant, string role) => async (w, serviceAdmin) =>
        new HttpRequestMessage(HttpMethod.Delete, $"/api/v1/tenants/{tenant(w)}/keys/{(await NewKeyAsync(serviceAdmin, tenant(w), role)).Id}");

    private static readonly Guid s_default = Domain.Tenants.Tenant.DefaultId;

    //                                          service admin, tenant admin A, tenant admin B, member A, no key
    private static IReadOnlyList<RoleCase> RoleCases() =>
    [
        new("WhoAmI", "", Plain(_ => Get("/api/v1/me")), [200, 200, 200, 200, 401]),
        new("ListTenants", "", Plain(_ => Get("/api/v1/tenants")), [200, 403, 403, 403, 401]),
        new("CreateTenant", "", Plain(_ => PostJson("/api/v1/tenants", new { name = $"roles-new-{Guid.NewGuid():N}"[..24] })), [201, 403, 403, 403, 401]),
        new("ListApiKeys", "of A", Plain(w => Get($"/api/v1/tenants/{w.A}/keys")), [200, 200, 404, 403, 401]),
        new("ListApiKeys", "of default", Plain(_ => Get($"/api/v1/tenants/{s_default}/keys")), [200, 404, 404, 403, 401]),
        new("CreateApiKey", "Member of A", Plain(w => PostJson($"/api/v1/tenants/{w.A}/keys", new { name = "m", role = "Member" })), [201, 201, 404, 403, 401]),
        new("CreateApiKey", "TenantAdmin of A", Plain(w => PostJson($"/api/v1/tenants/{w.A}/keys", new { name = "t", role = "TenantAdmin" })), [201, 201, 404, 403, 401]),
        new("CreateApiKey", "isAdmin (deprecated) of A", Plain(w => PostJson($"/api/v1/tenants/{w.A}/keys", new { name = "i", isAdmin = true })), [201, 201, 404, 403, 401]),
        new("CreateApiKey", "ServiceAdmin of A", Plain(w => PostJson($"/api/v1/tenants/{w.A}/keys", new { name = "s", role = "ServiceAdmin" })), [201, 403, 404, 403, 401]),
        new("CreateApiKey", "Member of default", Plain(_ => PostJson($"/api/v1/tenants/{s_default}/keys", new { name = "m", role = "Member" })), [201, 404, 404, 403, 401]),
        new("CreateApiKey", "ServiceAdmin of default", Plain(_ => PostJson($"/api/v1/tenants/{s_default}/keys", new { name = "s", role = "ServiceAdmin" })), [201, 404, 404, 403, 401]),
        new("RevokeApiKey", "a Member key of A", RevokeFresh(w => w.A, "Member"), [204, 204, 404, 403, 401]),
        new("RevokeApiKey", "a TenantAdmin key of A", RevokeFresh(w => w.A, "TenantAdmin"), [204, 204, 404, 403, 401]),
        new("RevokeApiKey", "a ServiceAdmin key of A", RevokeFresh(w => w.A, "ServiceAdmin"), [204, 403, 404, 403, 401]),
        new("RevokeApiKey", "a Member key of default", RevokeFresh(_ => s_default, "Member"), [204, 404, 404, 403, 401]),
        new("RevokeApiKey", "an unknown key of A", Plain(w => new HttpRequestMessage(HttpMethod.Delete, $"/api/v1/tenants/{w.A}/keys/{Guid.NewGuid()}")), [404, 404, 404, 403, 401]),
        new("ListWorkers", "", Plain(_ => Get("/api/v1/workers")), [200, 200, 200, 403, 401]),
    ];

    /// <summary>The REST endpoints the role matrix must cover: the Tenants tag and every endpoint that needs a role.</summary>
    internal static string[] RoleEndpoints(IServiceProvider services) =>
        services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText?.StartsWith("/api/", StringComparison.Ordinal) == true)
            .Where(e => e.Metadata.OfType<Microsoft.AspNetCore.Http.Metadata.ITagsMetadata>().Any(t => t.Tags.Contains("Tenants"))
                || e.Metadata.OfType<Microsoft.AspNetCore.Authorization.IAuthorizeData>().Any(a => a.Policy is not null))
            .Select(e => e.Metadata.GetMetadata<IEndpointNameMetadata>()?.EndpointName ?? e.RoutePattern.RawText!)
            .Distinct().Order().ToArray();

    internal static string[] RoleCaseNames() => RoleCases().Select(c => c.Endpoint).Distinct().Order().ToArray();

    [Fact]
    public async Task RoleMatrix_TenantAndKeyOperations_ServiceAdminTenantAdminsMemberNoKey()
    {
        HttpClient serviceAdmin = Target.Client(ApiFactory.AdminKey);
        RoleWorld w = await CreateRoleWorldAsync(serviceAdmin);
        var failures = new List<string>();
        foreach (RoleCase c in RoleCases())
        {
            for (int caller = 0; caller < s_callers.Length; caller++)
            {
                using HttpRequestMessage request = await c.Request(w, serviceAdmin);
                using HttpResponseMessage response = await Target.Client(w.Keys[caller]).SendAsync(request);
                int expected = c.Expected[caller];
                string body = await response.Content.ReadAsStringAsync();
                if ((int)response.StatusCode != expected)
                {
                    failures.Add($"{c.Endpoint} {c.What} as {s_callers[caller]}: {(int)response.StatusCode}, expected {expected}: {body}");
                }
                else if (expected >= 400 && response.Content.Headers.ContentType?.MediaType != "application/problem+json")
                {
                    failures.Add($"{c.Endpoint} {c.What} as {s_callers[caller]}: {expected} without problem+json");
                }
            }
        }
        // Nothing above made a key outside what each caller manages: the tenant admins' keys are all still of their tenants.
        JsonElement[] keysOfB = (await serviceAdmin.GetFromJsonAsync<JsonElement>($"/api/v1/tenants/{w.B}/keys")).EnumerateArray().ToArray();
        Assert.Equal(["TenantAdmin"], keysOfB.Select(k => k.GetProperty("role").GetString()));
        Assert.True(failures.Count == 0, string.Join('\n', failures));
    }

    /// <summary>The gRPC operations that need a role (today the worker registry) and one any key may call, for every caller.</summary>
    private static IReadOnlyList<(string Method, Func<CallInvoker, Task<object?>> Call, StatusCode?[] Expected)> GrpcRoleCases() =>
    [
        ("training.v1.WorkerService/ListWorkers", i => Unary(new V1.WorkerService.WorkerServiceClient(i).ListWorkersAsync(new V1.ListWorkersRequest())),
            [null, null, null, StatusCode.PermissionDenied, StatusCode.Unauthenticated]),
        ("training.v1.DatasetService/ListDatasets", i => Unary(new V1.DatasetService.DatasetServiceClient(i).ListDatasetsAsync(new V1.ListDatasetsRequest())),
            [null, null, null, null, StatusCode.Unauthenticated]),
    ];

    [Fact]
    public async Task GrpcRoleMatrix_ServiceAdminTenantAdminsMemberNoKey()
    {
        RoleWorld w = await CreateRoleWorldAsync(Target.Client(ApiFactory.AdminKey));
        var failures = new List<string>();
        foreach ((string method, Func<CallInvoker, Task<object?>> call, StatusCode?[] expected) in GrpcRoleCases())
        {
            for (int caller = 0; caller < s_callers.Length; caller++)
            {
                StatusCode? code = await CodeOfAsync(() => call(Target.Grpc(w.Keys[caller])));
                if (code != expected[caller])
                {
                    failures.Add($"{method} as {s_callers[caller]}: {code?.ToString() ?? "OK"}, expected {expected[caller]?.ToString() ?? "OK"}");
                }
            }
        }
        Assert.True(failures.Count == 0, string.Join('\n', failures));
    }
}

/// <summary>A server for the matrix: HTTP clients and gRPC call invokers that send a given key (none when null).</summary>
public interface IMatrixTarget
{
    HttpClient Client(string? apiKey);

    CallInvoker Grpc(string? apiKey);
}

/// <summary>The Api in memory (TestServer): HTTP clients and gRPC channels over its handler.</summary>
public sealed class InMemoryTarget(ApiFactory api) : IMatrixTarget
{
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<ApiFactory, InMemoryTarget> s_targets = new();

    /// <summary>One target per Api fixture, so the tests of a class share tenant A's resources.</summary>
    public static InMemoryTarget Of(ApiFactory api) => s_targets.GetValue(api, a => new InMemoryTarget(a));

    public HttpClient Client(string? apiKey) => api.CreateClient(apiKey);

    public CallInvoker Grpc(string? apiKey) =>
        GrpcChannel.ForAddress(api.Server.BaseAddress, new GrpcChannelOptions { HttpHandler = api.CreateGrpcHandler(apiKey) }).CreateCallInvoker();
}

/// <summary>The Api in memory on SQLite; also checks that the matrix covers every endpoint and method.</summary>
public sealed class SqliteTenantIsolationTests(SqliteApi api) : TenantIsolationTests, IClassFixture<SqliteApi>
{
    protected override IMatrixTarget Target => InMemoryTarget.Of(api);

    [Fact]
    public void RestMatrix_CoversEveryEndpoint() => Assert.Equal(RestEndpoints(api.Services), RestCaseNames());

    [Fact]
    public void RoleMatrix_CoversEveryTenantKeyAndRoleEndpoint() => Assert.Equal(RoleEndpoints(api.Services), RoleCaseNames());

    [Fact]
    public void GrpcMatrix_CoversEveryMethod()
    {
        string[] methods = V1.TrainingReflection.Descriptor.Services
            .SelectMany(s => s.Methods.Select(m => $"{s.FullName}/{m.Name}")).Order().ToArray();
        Assert.Equal(methods, GrpcCaseNames());
    }
}

/// <summary>
/// The Api as its own process on PostgreSQL, over real Kestrel sockets on loopback: REST over HTTP/1.1 and
/// gRPC over cleartext HTTP/2 on the dedicated <c>Grpc:Port</c>.
/// </summary>
public sealed class KestrelPostgresApi : IMatrixTarget, IAsyncLifetime
{
    private readonly string _dataDirectory = Path.Combine(Path.GetTempPath(), $"tas-matrix-{Guid.NewGuid():N}");
    private readonly List<GrpcChannel> _channels = [];
    private string? _postgres;
    private ApiProcess? _api;
    private Uri? _grpc;

    public async Task InitializeAsync()
    {
        _postgres = await PostgresServer.CreateDatabaseAsync();
        int grpcPort = ApiProcess.FreePort();
        _grpc = new Uri($"http://127.0.0.1:{grpcPort}");
        _api = await ApiProcess.StartAsync(new Dictionary<string, string>
        {
            ["Storage:Provider"] = "Postgres",
            ["ConnectionStrings:Postgres"] = _postgres,
            ["Storage:DataDirectory"] = _dataDirectory,
            ["Worker:InProcess"] = "true",
            ["Worker:Threads"] = "2",
            ["Worker:LatencyMinRuns"] = "10",
            ["Worker:LatencyMinimumTotal"] = "00:00:00.020",
            ["Grpc:Port"] = grpcPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
        });
    }

    public HttpClient Client(string? apiKey)
    {
        HttpClient client = _api!.CreateClient();
        client.DefaultRequestHeaders.Remove("X-Api-Key");
        if (apiKey is not null)
        {
            client.DefaultRequestHeaders.Add("X-Api-Key", apiKey);
        }
        return client;
    }

    public CallInvoker Grpc(string? apiKey)
    {
        GrpcChannel channel = GrpcChannel.ForAddress(_grpc!);
        _channels.Add(channel);
        return apiKey is null ? channel.CreateCallInvoker() : channel.Intercept(metadata =>
        {
            metadata.Add("x-api-key", apiKey);
            return metadata;
        });
    }

    public async Task DisposeAsync()
    {
        _channels.ForEach(c => c.Dispose());
        _api?.Dispose();
        if (_postgres is not null)
        {
            await PostgresServer.DropDatabaseAsync(_postgres);
        }
        if (Directory.Exists(_dataDirectory))
        {
            Directory.Delete(_dataDirectory, recursive: true);
        }
    }
}

public sealed class PostgresTenantIsolationTests(KestrelPostgresApi api) : TenantIsolationTests, IClassFixture<KestrelPostgresApi>
{
    protected override IMatrixTarget Target => api;
}

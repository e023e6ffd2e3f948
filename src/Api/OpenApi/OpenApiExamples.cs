using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Api.Common;
using Api.Datasets;
using Api.Devices;
using Api.Jobs;
using Api.Runs;
using Api.Tenants;
using Api.Variants;
using Api.Workers;

namespace Api.OpenApi;

/// <summary>
/// Request and response examples per operation (by endpoint name), built from the API's own response types
/// and serialised with its JSON settings, so they cannot drift from the schemas.
/// </summary>
internal static class OpenApiExamples
{
    private static readonly JsonSerializerOptions s_json = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter() },
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    private static readonly Guid s_dataset = new("01a20c60-b350-72eb-aef5-320ee4e7d72a");
    private static readonly Guid s_job = new("01a20c61-07e3-746a-9f9d-f14867bb5af5");
    private static readonly Guid s_run = new("01a20c61-0a11-7c4e-8e1b-2d5f0c9a7b31");
    private static readonly Guid s_tenant = new("01a20c70-1c2d-7e3f-9a4b-5c6d7e8f9a0b");
    private static readonly Guid s_key = new("01a20c70-2d3e-7f40-8b5c-6d7e8f9a0b1c");
    private static readonly DateTime s_at = new(2026, 11, 24, 7, 6, 33, DateTimeKind.Utc);

    private static readonly DatasetResponse s_datasetBody = new(
        s_dataset, "fashion-small", "idx", 3000, 1000, 10, [28, 28], "b9537a0f362991b4c4d019f4d4613794fdc98f90617ef45d6f25cd3fc6aec82b",
        3140048, s_at, [287, 301, 292, 319, 319, 313, 292, 302, 300, 275], [106, 96, 107, 94, 94, 94, 96, 107, 107, 99]);

    private const string SpecJson = """
        {"datasetId":"01a20c60-b350-72eb-aef5-320ee4e7d72a","model":{"kind":"mlp","hidden":[256,128],"maxRank":64},
         "training":{"epochs":5,"batchSize":128,"learningRate":0.001,"seed":1}}
        """;

    /// <summary>What a job reports as its spec: the request with every default written out, as stored.</summary>
    private static readonly JobSpec s_storedSpec = JobSpec.Parse(SpecJson).Normalized();

    private static readonly int s_epochs = StagePlan.From(s_storedSpec).TotalEpochs;

    private static readonly MetricResponse s_metric = new(5, "maestro", 0.412, 0.861, 0.75, null, 1.9, null);

    private static readonly JobResponse s_jobBody = new(
        s_job, JobStatus.Succeeded, s_dataset, new JobProgress(s_epochs, s_epochs), [s_run], s_metric, null, 1, false,
        s_at, s_at.AddSeconds(1), s_at.AddSeconds(11), JsonSerializer.Deserialize<JsonElement>(s_storedSpec.ToJson()));

    private static readonly RunResponse s_runBody = new(
        s_run, s_job, 0, RunStatus.Succeeded, "cpu", 0.75, s_at.AddSeconds(1), s_at.AddSeconds(11), [s_metric],
        s_epochs, ModelSelections.Last, null);

    /// <summary>
    /// A co-teaching run on noisy labels: it ships the epoch that did best on the validation split of its noisy
    /// training labels, which is not the last one.
    /// </summary>
    private static readonly RunResponse s_noisyRunBody = new(
        new Guid("01a20c62-3b4c-7d5e-8f60-718293a4b5c6"), new Guid("01a20c62-3a1b-7c2d-9e3f-4a5b6c7d8e9f"), 0, RunStatus.Succeeded, "cpu", 0.71,
        s_at.AddMinutes(3), s_at.AddMinutes(4),
        [
            new MetricResponse(4, "coteaching", 1.21, 0.58, 0.71, 0.81, 2.4, 0.66),
            new MetricResponse(5, "coteaching", 1.05, 0.62, 0.69, 0.77, 2.4, 0.63),
        ],
        4, ModelSelections.BestValidation, 0.66);

    private static VariantResponse Variant(double fraction, int rank, long parameters, double accuracy, double ms) => new(
        fraction, [rank, rank], parameters, parameters - 138, accuracy,
        new LatencyResponse("cpu-amd-epyc-2t", 1, ms, ms * 1.2, true, "measured", "onnxruntime-cpu"),
        new VariantLinks($"/api/v1/runs/{s_run}/variants/{fraction}/model?format=onnx", $"/api/v1/runs/{s_run}/variants/{fraction}/model?format=torchsharp"));

    private static readonly VariantResponse[] s_variants =
    [
        Variant(0.25, 16, 24458, 0.673, 0.0047), Variant(0.5, 32, 47242, 0.741, 0.0052), Variant(1, 64, 92810, 0.75, 0.0071),
    ];

    private static readonly DeviceResponse s_device = new("pixel-8", "A phone, ONNX Runtime mobile", "Tensor G3", 9, 4, null, false, 7, s_at);

    /// <summary>Example request bodies (JSON operations only).</summary>
    public static readonly IReadOnlyDictionary<string, JsonNode> Requests = new Dictionary<string, JsonNode>
    {
        ["SubmitJob"] = JsonNode.Parse(SpecJson)!,
        ["CreateDevice"] = Node(new CreateDeviceRequest("pixel-8", "A phone, ONNX Runtime mobile", "Tensor G3", 9, 4, null)),
        ["PostDeviceLatencies"] = Node(new PostLatenciesRequest(s_run, "onnxruntime-android", 4,
            [new LatencyMeasurementRequest(0.5, 1, 0.42, 0.51, 200), new LatencyMeasurementRequest(1, 1, 0.77, 0.9, 200)])),
        ["CreateTenant"] = Node(new CreateTenantRequest("vision-team")),
        ["CreateApiKey"] = Node(new CreateApiKeyRequest("ci", ApiKeyRole.Member)),
    };

    /// <summary>Example bodies of each operation's success response (JSON responses only).</summary>
    public static readonly IReadOnlyDictionary<string, JsonNode> Responses = new Dictionary<string, JsonNode>
    {
        ["CreateDataset"] = Node(s_datasetBody),
        ["GetDataset"] = Node(s_datasetBody),
        ["ListDatasets"] = Node(new Page<DatasetResponse>([s_datasetBody], 1, 0, 50)),
        ["SubmitJob"] = Node(s_jobBody with { Status = JobStatus.Queued, Progress = new JobProgress(0, s_epochs), RunIds = [], LatestMetrics = null, Attempts = 0, StartedAt = null, FinishedAt = null }),
        ["GetJob"] = Node(s_jobBody),
        ["ListJobs"] = Node(new Page<JobResponse>([s_jobBody], 1, 0, 50)),
        ["CancelJob"] = Node(s_jobBody with { Status = JobStatus.Running, CancelRequested = true, FinishedAt = null }),
        ["GetRun"] = Node(s_runBody),
        ["ListRuns"] = Node(new Page<RunResponse>([s_noisyRunBody, s_runBody], 2, 0, 50)),
        ["GetRunCurve"] = Node(new CurveResponse(s_run, RunStatus.Succeeded,
        [
            new CurvePointResponse(0.0625, [4, 4], 7370, 7232, 0.321, null, null),
            new CurvePointResponse(0.5, [32, 32], 47242, 47104, 0.741, 0.733, 47242),
            new CurvePointResponse(1, [64, 64], 92810, 92672, 0.75, null, null),
        ])),
        ["ListVariants"] = Node(new VariantsResponse(s_run, [new DeviceFrontierResponse("cpu-amd-epyc-2t", 1, s_variants, s_variants)])),
        ["SelectVariant"] = Node(new SelectionResponse(s_run, "cpu-amd-epyc-2t", 1, 0.006, s_variants[1])),
        ["ListDevices"] = Node(new[] { s_device }),
        ["GetDevice"] = Node(s_device),
        ["CreateDevice"] = Node(s_device with { Measurements = 0 }),
        ["PostDeviceLatencies"] = Node(new PostLatenciesResponse("pixel-8", s_run, 2)),
        ["WhoAmI"] = Node(new WhoAmIResponse(s_tenant, "vision-team", s_key, "ci", ApiKeyRole.Member, false)),
        ["ListTenants"] = Node(new[] { new TenantResponse(s_tenant, "vision-team", s_at, 2) }),
        ["CreateTenant"] = Node(new TenantResponse(s_tenant, "vision-team", s_at, 0)),
        ["ListApiKeys"] = Node(new[] { new ApiKeyResponse(s_key, s_tenant, "ci", "tsk_Ab12Cd34", ApiKeyRole.Member, false, s_at, null) }),
        ["ListWorkers"] = Node(new[]
        {
            new WorkerResponse("worker-7f9c4b-x2kq:1:3d0a5e2c-9b1f-4c6e-8a7d-2f4b6c8e0a1d", "worker-7f9c4b-x2kq", ["cuda:0"], "0.107.0.0", "2.10.0.0", 1,
                WorkerService.Busy, [new WorkerJobResponse(s_job, s_at.AddSeconds(1))], s_at.AddHours(-3), s_at.AddSeconds(20)),
            new WorkerResponse("worker-7f9c4b-m8wz:1:8c1e7f3a-2d4b-4e9a-b6c0-5a7d9e1f3b2c", "worker-7f9c4b-m8wz", ["cuda:0"], "0.107.0.0", "2.10.0.0", 1,
                WorkerService.Busy, [new WorkerJobResponse(null, s_at.AddMinutes(-4))], s_at.AddHours(-3), s_at.AddSeconds(14)),
            new WorkerResponse("worker-cpu-5d6e7f-q1rs:1:0b9a8c7d-6e5f-4a3b-9c2d-1e0f9a8b7c6d", "worker-cpu-5d6e7f-q1rs", ["cpu"], "0.107.0.0", "2.10.0.0", 1,
                WorkerService.Idle, [], s_at.AddHours(-1), s_at.AddSeconds(9)),
        }),
        ["CreateApiKey"] = Node(new CreatedApiKeyResponse(s_key, s_tenant, "ci", "tsk_Ab12Cd34", ApiKeyRole.Member, false, s_at, "tsk_Ab12Cd34Ef56Gh78Ij90Kl12Mn34Op56")),
    };

    /// <summary>Examples of the error bodies, by status code.</summary>
    public static readonly IReadOnlyDictionary<string, JsonNode> Problems = new Dictionary<string, JsonNode>
    {
        ["400"] = JsonNode.Parse("""
            {"type":"https://tools.ietf.org/html/rfc9110#section-15.5.1","title":"One or more fields are invalid.","status":400,
             "detail":"training.epochs: must be between 1 and 1000 (was -1).",
             "errors":{"training.epochs":["must be between 1 and 1000 (was -1)."]}}
            """)!,
        ["401"] = JsonNode.Parse("""
            {"type":"https://tools.ietf.org/html/rfc9110#section-15.5.2","title":"Unauthenticated.","status":401,
             "detail":"Send an API key in the X-Api-Key header."}
            """)!,
        ["403"] = JsonNode.Parse("""
            {"type":"https://tools.ietf.org/html/rfc9110#section-15.5.4","title":"Forbidden.","status":403,
             "detail":"This key's role does not allow this operation (see GET /api/v1/me for the key's role)."}
            """)!,
        ["404"] = JsonNode.Parse("""
            {"type":"https://tools.ietf.org/html/rfc9110#section-15.5.5","title":"Run not found.","status":404,
             "detail":"Run '01a20c61-0a11-7c4e-8e1b-2d5f0c9a7b31' does not exist."}
            """)!,
        ["413"] = JsonNode.Parse("""
            {"type":"https://tools.ietf.org/html/rfc9110#section-15.5.14","title":"Request body too large.","status":413,
             "detail":"Request body too large. The max request body size is 1073741824 bytes."}
            """)!,
        ["429"] = JsonNode.Parse("""
            {"type":"https://tools.ietf.org/html/rfc6585#section-4","title":"Too many requests.","status":429,
             "detail":"This API key made 10 submissions in the last 00:01:00; the limit is 10 per window (Api:RateLimit:SubmissionsPerWindow). Retry in 42 seconds."}
            """)!,
        ["504"] = JsonNode.Parse("""
            {"type":"https://tools.ietf.org/html/rfc9110#section-15.6.5","title":"Request timed out.","status":504,
             "detail":"The request took longer than 00:01:40 (Api:RequestTimeout) and was stopped; nothing of it was kept."}
            """)!,
        ["416"] = JsonNode.Parse("""
            {"type":"https://tools.ietf.org/html/rfc9110#section-15.5.17","title":"Range Not Satisfiable","status":416}
            """)!,
        ["422"] = JsonNode.Parse("""
            {"type":"https://tools.ietf.org/html/rfc4918#section-11.2","title":"No variant fits the latency budget.","status":422,
             "detail":"The fastest variant (rank fraction 0.0625) takes 0.004 ms on 'cpu-amd-epyc-2t' at batch 1; the budget is 0.001 ms.",
             "fastestLatencyMs":0.0041,"fastestRankFraction":0.0625,"measured":true}
            """)!,
        ["503"] = JsonNode.Parse("""
            {"type":"https://tools.ietf.org/html/rfc9110#section-15.6.4","title":"Service unavailable.","status":503,
             "detail":"The database is unreachable or busy; nothing was changed. Retry in 5 seconds."}
            """)!,
        ["507"] = JsonNode.Parse("""
            {"type":"https://tools.ietf.org/html/rfc4918#section-11.5","title":"Insufficient storage.","status":507,
             "detail":"The server's artifact storage is full (no space left on device or quota exceeded); nothing of this request was kept. Retry once an operator has freed space on the volume behind Storage:ArtifactRoot."}
            """)!,
        ["409"] = JsonNode.Parse("""
            {"type":"https://tools.ietf.org/html/rfc9110#section-15.5.10","title":"Conflict.","status":409,
             "detail":"This Idempotency-Key was already used with a different request body."}
            """)!,
    };

    private static JsonNode Node<T>(T value) => JsonSerializer.SerializeToNode(value, s_json)!;
}

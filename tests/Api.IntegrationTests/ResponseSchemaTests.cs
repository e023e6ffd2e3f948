using System.Text.Json.Nodes;

namespace Api.IntegrationTests;

/// <summary>
/// Every REST response the integration tests receive is checked against swagger.json when its host is disposed
/// (<see cref="ApiFactory.DisposeAsync"/>); these tests call each JSON operation once and check on the spot, and show
/// that the check catches a body that disagrees with the document.
/// </summary>
public sealed class ResponseSchemaTests(SqliteApi api) : IClassFixture<SqliteApi>
{
    [Fact]
    public async Task EveryJsonOperation_CalledOnce_ResponsesMatchTheDocument()
    {
        HttpClient client = api.CreateClient();
        (Guid runId, _, _) = await ApiClient.TrainRunWithTestSplitAsync(client, "schema");
        JsonElement run = await client.GetFromJsonAsync<JsonElement>($"/api/v1/runs/{runId}");
        Guid jobId = run.GetProperty("jobId").GetGuid();
        Guid datasetId = (await client.GetFromJsonAsync<JsonElement>($"/api/v1/jobs/{jobId}")).GetProperty("datasetId").GetGuid();
        string device = (await client.GetFromJsonAsync<JsonElement>("/api/v1/devices")).EnumerateArray()
            .First(d => d.GetProperty("builtIn").GetBoolean()).GetProperty("name").GetString()!;

        string[] gets =
        [
            "/api/v1/datasets", $"/api/v1/datasets/{datasetId}", "/api/v1/jobs?status=Succeeded", $"/api/v1/runs?jobId={jobId}",
            $"/api/v1/runs/{runId}/curve", $"/api/v1/runs/{runId}/variants?device={device}",
            $"/api/v1/runs/{runId}/variants/select?device={device}&latencyBudgetMs=1000", $"/api/v1/devices/{device}",
            "/api/v1/me", "/api/v1/tenants", "/api/v1/workers",
            // Errors: an unknown id (404), a bad filter (400), a budget nothing fits (422).
            $"/api/v1/runs/{Guid.NewGuid()}", "/api/v1/jobs?limit=-1", $"/api/v1/runs/{runId}/variants/select?device={device}&latencyBudgetMs=0.000000001",
        ];
        foreach (string path in gets)
        {
            (await client.GetAsync(path)).Dispose();
        }
        (await api.CreateClient(apiKey: null).GetAsync("/api/v1/jobs")).Dispose();
        (await client.PostAsJsonAsync("/api/v1/jobs", new { datasetId, training = new { epochs = -1 } })).Dispose();
        (await client.PostAsync($"/api/v1/jobs/{jobId}/cancel", null)).Dispose();
        (await client.PostAsJsonAsync("/api/v1/devices", new { name = "schema-phone", cores = 8 })).Dispose();
        (await client.PostAsJsonAsync("/api/v1/devices/schema-phone/latencies",
            new { runId, runtime = "onnxruntime-android", measurements = new[] { new { rankFraction = 1, batch = 1, medianMs = 3.2, p90Ms = 3.9 } } })).Dispose();
        using HttpResponseMessage tenant = await client.PostAsJsonAsync("/api/v1/tenants", new { name = "schema-team" });
        Guid tenantId = (await tenant.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        (await client.PostAsJsonAsync($"/api/v1/tenants/{tenantId}/keys", new { name = "ci" })).Dispose();
        (await client.GetAsync($"/api/v1/tenants/{tenantId}/keys")).Dispose();

        IReadOnlyList<string> mismatches = await api.ResponseSchemaMismatchesAsync();

        Assert.True(mismatches.Count == 0, string.Join('\n', mismatches));
        string[] operations = api.Responses.Responses.Select(r => $"{r.Method} {ResponseSchemaValidator.DocumentPath(r.Route)} {r.Status}").Distinct().ToArray();
        Assert.Contains("GET /api/v1/runs/{id}/variants 200", operations);
        Assert.Contains("GET /api/v1/runs/{id}/variants/select 422", operations);
        Assert.Contains("POST /api/v1/jobs 400", operations);
        Assert.Contains("GET /api/v1/jobs 401", operations);
    }

    [Fact]
    public async Task Validator_BodyThatContradictsTheDocument_ReportsEachMismatch()
    {
        JsonNode document = (await api.CreateClient().GetFromJsonAsync<JsonNode>("/swagger/v1/swagger.json"))!;
        var validator = new ResponseSchemaValidator(document);
        string job = """
            {"id":"01a20c61-07e3-746a-9f9d-f14867bb5af5","status":"Queued","datasetId":"01a20c60-b350-72eb-aef5-320ee4e7d72a",
             "progress":{"epoch":0,"epochs":5},"runIds":[],"attempts":0,"cancelRequested":false,"createdAt":"2026-11-24T07:06:33Z","spec":{}}
            """;

        IReadOnlyList<string> valid = validator.Validate(new("GET", "/api/v1/jobs/{id:guid}", 200, "application/json", job));
        // An integer status (what the document said before its enums were strings), an undeclared property, a wrong type.
        IReadOnlyList<string> wrongEnum = validator.Validate(new("GET", "/api/v1/jobs/{id:guid}", 200, "application/json", job.Replace("\"Queued\"", "0")));
        IReadOnlyList<string> extra = validator.Validate(new("GET", "/api/v1/jobs/{id:guid}", 200, "application/json", job.Replace("\"attempts\"", "\"tries\":1,\"attempts\"")));
        IReadOnlyList<string> wrongType = validator.Validate(new("GET", "/api/v1/jobs/{id:guid}", 200, "application/json", job.Replace("\"attempts\":0", "\"attempts\":\"0\"")));
        IReadOnlyList<string> undeclaredStatus = validator.Validate(new("GET", "/api/v1/jobs/{id:guid}", 418, "application/json", job));
        IReadOnlyList<string> undeclaredMedia = validator.Validate(new("GET", "/api/v1/jobs/{id:guid}", 200, "text/csv", "id\n1"));

        Assert.Empty(valid);
        Assert.Contains(wrongEnum, e => e.Contains("/status", StringComparison.Ordinal));
        Assert.Contains(extra, e => e.Contains("tries", StringComparison.Ordinal) || e.Contains("additionalProperties", StringComparison.Ordinal));
        Assert.Contains(wrongType, e => e.Contains("/attempts", StringComparison.Ordinal));
        Assert.Contains(undeclaredStatus, e => e.Contains("418", StringComparison.Ordinal));
        Assert.Contains(undeclaredMedia, e => e.Contains("text/csv", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("/api/v1/runs/{id:guid}", "/api/v1/runs/{id}")]
    [InlineData("/api/v1/runs/", "/api/v1/runs")]
    [InlineData("/api/v1/runs/{id:guid}/variants/{fraction:double}/model", "/api/v1/runs/{id}/variants/{fraction}/model")]
    public void DocumentPath_RouteTemplate_DropsConstraintsAndTrailingSlash(string route, string expected) =>
        Assert.Equal(expected, ResponseSchemaValidator.DocumentPath(route));
}

/// <summary>Fails the run when any host of this run sent a REST response that swagger.json does not describe.</summary>
[Collection(ResponseSchemaLedger.Collection)]
public sealed class ResponseSchemaLedgerTests
{
    [Fact]
    public void EveryDisposedHost_RecordedResponses_MatchTheDocument()
    {
        IReadOnlyCollection<string> mismatches = ResponseSchemaLedger.Mismatches;

        Assert.True(mismatches.Count == 0,
            $"{mismatches.Count} of {ResponseSchemaLedger.Responses} REST responses from {ResponseSchemaLedger.Hosts} hosts do not match swagger.json:\n"
            + string.Join('\n', mismatches.Take(100)));
    }
}

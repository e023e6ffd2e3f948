namespace Api.IntegrationTests;

public sealed class OpenApiTests(SqliteApi api) : IClassFixture<SqliteApi>
{
    [Fact]
    public async Task SwaggerDocument_ListsEveryEndpointWithSummaries()
    {
        JsonElement document = await api.CreateClient().GetFromJsonAsync<JsonElement>("/swagger/v1/swagger.json");

        JsonElement paths = document.GetProperty("paths");
        string[] expected =
        [
            "/api/v1/datasets", "/api/v1/datasets/{id}", "/api/v1/jobs", "/api/v1/jobs/{id}",
            "/api/v1/jobs/{id}/cancel", "/api/v1/runs", "/api/v1/runs/{id}", "/api/v1/runs/{id}/curve",
        ];
        Assert.All(expected, path => Assert.True(paths.TryGetProperty(path, out _), $"missing {path}"));
        Assert.All(paths.EnumerateObject().SelectMany(p => p.Value.EnumerateObject()),
            operation => Assert.False(string.IsNullOrWhiteSpace(operation.Value.GetProperty("summary").GetString()), operation.Name));
    }

    [Theory]
    [InlineData("/api/v1/datasets", "createdAfter", "createdBefore")]
    [InlineData("/api/v1/jobs", "createdAfter", "createdBefore")]
    [InlineData("/api/v1/runs", "startedAfter", "startedBefore")]
    public async Task SwaggerDocument_ListTimeFilters_AreDescribedDateTimeQueryParameters(string path, string after, string before)
    {
        JsonElement document = await api.CreateClient().GetFromJsonAsync<JsonElement>("/swagger/v1/swagger.json");

        JsonElement list = document.GetProperty("paths").GetProperty(path).GetProperty("get");
        Dictionary<string, JsonElement> parameters = list.GetProperty("parameters").EnumerateArray().ToDictionary(p => p.GetProperty("name").GetString()!);
        foreach (string name in new[] { after, before })
        {
            Assert.Equal("query", parameters[name].GetProperty("in").GetString());
            Assert.Equal("date-time", parameters[name].GetProperty("schema").GetProperty("format").GetString());
            Assert.False(string.IsNullOrWhiteSpace(parameters[name].GetProperty("description").GetString()), name);
        }
        Assert.Contains(before, list.GetProperty("description").GetString());
        Assert.True(list.GetProperty("responses").TryGetProperty("400", out _));
    }

    [Fact]
    public async Task SwaggerUi_IsServed()
    {
        using HttpResponseMessage response = await api.CreateClient().GetAsync("/swagger/index.html");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }
}

public sealed class HealthTests(SqliteApi api) : IClassFixture<SqliteApi>
{
    [Theory]
    [InlineData("/healthz")]
    [InlineData("/healthz/ready")]
    public async Task Health_MigratedDatabase_Returns200(string path)
    {
        using HttpResponseMessage response = await api.CreateClient().GetAsync(path);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }
}

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

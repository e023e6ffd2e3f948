using Infrastructure.Data;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Api.IntegrationTests.Infrastructure;

/// <summary>
/// The real Api (with its in-process Hangfire server and TorchSharp worker) on a fresh database of the
/// chosen provider and a temporary artifact folder; both are removed on dispose.
/// </summary>
public class ApiFactory : WebApplicationFactory<Program>, IAsyncLifetime
{
    /// <summary>The configured bootstrap key: an admin key of the default tenant. Clients of this factory send it.</summary>
    public const string AdminKey = "tsk_test-bootstrap-admin-key-0001";

    private string? _postgres;

    public ApiFactory(StorageProvider provider)
    {
        Provider = provider;
        DataDirectory = Path.Combine(Path.GetTempPath(), $"tas-test-{Guid.NewGuid():N}");
    }

    public StorageProvider Provider { get; }

    /// <summary>Every REST response this host sent; <see cref="DisposeAsync"/> checks them against swagger.json.</summary>
    public ResponseRecorder Responses { get; } = new();

    /// <summary>This factory's own PostgreSQL database (null on SQLite); set by <see cref="InitializeAsync"/>.</summary>
    protected string? PostgresConnection => _postgres;

    public string DataDirectory { get; }

    public string ArtifactRoot => Path.Combine(DataDirectory, "artifacts");

    public async Task InitializeAsync()
    {
        if (Provider == StorageProvider.Postgres)
        {
            _postgres = await PostgresServer.CreateDatabaseAsync();
        }
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Testing");
        builder.ConfigureServices(services => services.AddSingleton(Responses.StartupFilter()));
        builder.UseSetting("Storage:Provider", Provider.ToString());
        builder.UseSetting("Storage:DataDirectory", DataDirectory);
        builder.UseSetting("Worker:InProcess", "true");
        builder.UseSetting("Worker:Threads", "2");
        // Latency numbers are not asserted in tests; keep their measurement short.
        builder.UseSetting("Worker:LatencyMinRuns", "10");
        builder.UseSetting("Worker:LatencyMinimumTotal", "00:00:00.020");
        builder.UseSetting("JobQueue:Schema", "hangfire");
        builder.UseSetting("Auth:BootstrapKey", AdminKey);
        if (_postgres is not null)
        {
            builder.UseSetting("ConnectionStrings:Postgres", _postgres);
        }
    }

    protected override void ConfigureClient(HttpClient client)
    {
        base.ConfigureClient(client);
        client.DefaultRequestHeaders.Add("X-Api-Key", AdminKey);
    }

    /// <summary>A client that sends <paramref name="apiKey"/> (none when null) instead of <see cref="AdminKey"/>.</summary>
    public HttpClient CreateClient(string? apiKey)
    {
        HttpClient client = CreateClient();
        client.DefaultRequestHeaders.Remove("X-Api-Key");
        if (apiKey is not null)
        {
            client.DefaultRequestHeaders.Add("X-Api-Key", apiKey);
        }
        return client;
    }

    /// <summary>An in-memory handler for gRPC channels that sends <paramref name="apiKey"/> as <c>x-api-key</c> metadata (none when null).</summary>
    public HttpMessageHandler CreateGrpcHandler(string? apiKey = AdminKey) => new ApiKeyHandler(Server.CreateHandler(), apiKey);

    private sealed class ApiKeyHandler(HttpMessageHandler inner, string? apiKey) : DelegatingHandler(inner)
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (apiKey is not null)
            {
                request.Headers.TryAddWithoutValidation("X-Api-Key", apiKey);
            }
            return base.SendAsync(request, cancellationToken);
        }
    }

    /// <summary>Runs <paramref name="action"/> with a fresh DbContext of the running Api.</summary>
    public async Task<T> WithDbAsync<T>(Func<AppDbContext, Task<T>> action)
    {
        await using AsyncServiceScope scope = Services.CreateAsyncScope();
        return await action(scope.ServiceProvider.GetRequiredService<AppDbContext>());
    }

    /// <summary>What a rejected request must leave as it was: dataset rows, artifact rows and artifact files.</summary>
    public sealed record StoredState(int Datasets, int Artifacts, string Files);

    public async Task<StoredState> StoredStateAsync() => new(
        await WithDbAsync(db => db.Datasets.CountAsync()),
        await WithDbAsync(db => db.Artifacts.CountAsync()),
        string.Join('\n', ArtifactFiles()));

    /// <summary>Every file under the artifact root, relative to it.</summary>
    public IReadOnlyList<string> ArtifactFiles() =>
        Directory.Exists(ArtifactRoot)
            ? Directory.EnumerateFiles(ArtifactRoot, "*", SearchOption.AllDirectories)
                .Select(f => Path.GetRelativePath(ArtifactRoot, f)).Order().ToList()
            : [];

    /// <summary>
    /// Each recorded response that disagrees with the schema, status or media type this host's swagger.json declares for
    /// its operation (<see cref="ResponseSchemaValidator"/>); empty when all conform.
    /// </summary>
    public async Task<IReadOnlyList<string>> ResponseSchemaMismatchesAsync()
    {
        if (Responses.Responses.Count == 0)
        {
            return [];
        }
        // From the provider rather than over HTTP: some hosts revoke or replace the key the clients send.
        var validator = new ResponseSchemaValidator(System.Text.Json.Nodes.JsonNode.Parse(await Api.OpenApi.OpenApiCommand.DocumentJsonAsync(Services))!);
        return Responses.Responses.SelectMany(validator.Validate).Distinct().ToList();
    }

    /// <summary>
    /// Removes the database and data folder; then fails the fixture if a response did not match swagger.json (also kept in
    /// <see cref="ResponseSchemaLedger"/>, since xUnit does not fail a run for a fixture's dispose).
    /// </summary>
    public new async Task DisposeAsync()
    {
        IReadOnlyList<string> mismatches = await ResponseSchemaMismatchesAsync();
        if (Responses.Responses.Count > 0)
        {
            ResponseSchemaLedger.Add(GetType().Name, Responses.Responses.Count, mismatches);
        }
        await base.DisposeAsync();
        if (_postgres is not null)
        {
            await PostgresServer.DropDatabaseAsync(_postgres);
        }
        if (Directory.Exists(DataDirectory))
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(DataDirectory, recursive: true);
        }
        if (mismatches.Count > 0)
        {
            throw new InvalidOperationException(
                $"{mismatches.Count} REST response(s) of {GetType().Name} do not match swagger.json:\n" + string.Join('\n', mismatches.Take(50)));
        }
    }
}

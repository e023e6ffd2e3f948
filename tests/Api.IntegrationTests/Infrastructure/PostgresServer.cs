using Npgsql;
using Testcontainers.PostgreSql;

namespace Api.IntegrationTests.Infrastructure;

/// <summary>
/// The PostgreSQL server for storage tests: <c>TEST_POSTGRES_CONNECTION</c> when set (test.sh starts a
/// throw-away cluster and sets it), otherwise a pinned Testcontainers image where a Docker engine runs.
/// Without either the tests fail: they are never skipped silently.
/// </summary>
public static class PostgresServer
{
    public const string ConnectionVariable = "TEST_POSTGRES_CONNECTION";
    private const string Image = "postgres:16.4-alpine";

    private static readonly SemaphoreSlim s_gate = new(1, 1);
    private static string? s_connection;
    private static PostgreSqlContainer? s_container;

    public static async Task<string> GetConnectionStringAsync()
    {
        await s_gate.WaitAsync();
        try
        {
            if (s_connection is not null)
            {
                return s_connection;
            }
            string? configured = Environment.GetEnvironmentVariable(ConnectionVariable);
            if (!string.IsNullOrWhiteSpace(configured))
            {
                return s_connection = configured;
            }
            try
            {
                s_container = new PostgreSqlBuilder(Image).Build();
                await s_container.StartAsync();
                return s_connection = s_container.GetConnectionString();
            }
            catch (Exception ex)
            {
                throw new InvalidOperationException(
                    $"No PostgreSQL for the storage tests: set {ConnectionVariable} or run ./test.sh, which starts one (Docker is not available: {ex.Message}).", ex);
            }
        }
        finally
        {
            s_gate.Release();
        }
    }

    /// <summary>Creates an empty database on the server and returns its connection string.</summary>
    public static async Task<string> CreateDatabaseAsync()
    {
        string server = await GetConnectionStringAsync();
        string name = $"test_{Guid.NewGuid():N}";
        await using (var connection = new NpgsqlConnection(server))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", connection);
            await command.ExecuteNonQueryAsync();
        }
        return new NpgsqlConnectionStringBuilder(server) { Database = name, Pooling = true }.ConnectionString;
    }

    public static async Task DropDatabaseAsync(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        string name = builder.Database!;
        NpgsqlConnection.ClearAllPools();
        builder.Database = "postgres";
        await using var connection = new NpgsqlConnection(builder.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)", connection);
        await command.ExecuteNonQueryAsync();
    }
}

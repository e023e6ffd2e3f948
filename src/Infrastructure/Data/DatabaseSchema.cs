using System.Text.RegularExpressions;
using Hangfire.PostgreSql;
using Infrastructure.Options;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Infrastructure.Data;

/// <summary>
/// The database schema: our EF Core migrations and, on PostgreSQL, Hangfire's tables. One process applies
/// them (<c>Api migrate</c>, or every process when <c>Storage:MigrateOnStartup</c> is true); the others wait
/// until both are present instead of racing to create them (issue 11: Hangfire's installer run by the Api and
/// two workers at once failed with <c>40001</c>, <c>XX000</c> and <c>42703</c>, and a process that started
/// before the migration read tables that did not exist yet).
/// </summary>
public static partial class DatabaseSchema
{
    /// <summary>PostgreSQL advisory lock held while migrating, so that migrators started together run one after another.</summary>
    private const long MigrationLockKey = 0x7461735F6D696772; // "tas_migr"

    private static readonly TimeSpan s_pollInterval = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan s_logInterval = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Applies pending EF Core migrations and, on PostgreSQL, installs or upgrades Hangfire's schema
    /// (<c>JobQueue:Schema</c>), under an advisory lock so concurrent migrators do not collide. On SQLite it also
    /// enables WAL so the worker and the Api can share the file.
    /// </summary>
    public static async Task MigrateAsync(IServiceProvider services, CancellationToken cancellationToken = default)
    {
        await using AsyncServiceScope scope = services.CreateAsyncScope();
        AppDbContext db = scope.ServiceProvider.GetRequiredService<AppDbContext>();
        if (!db.Database.IsNpgsql())
        {
            await db.Database.MigrateAsync(cancellationToken);
            if (db.Database.IsSqlite())
            {
                await db.Database.ExecuteSqlRawAsync("PRAGMA journal_mode=WAL;", cancellationToken);
            }
            return;
        }

        string schema = scope.ServiceProvider.GetRequiredService<IOptions<JobQueueOptions>>().Value.Schema;
        // Hangfire's logging is process-global and set when this host's Hangfire configuration is first resolved. The
        // installer's static logger is created on first use: resolve the configuration first, or, in a process that
        // built another host before (tests), that logger comes from the other host's disposed logger factory and the
        // installer's type initializer fails for the life of the process.
        _ = services.GetService<Hangfire.IGlobalConfiguration>();
        await using var connection = new NpgsqlConnection(db.Database.GetConnectionString());
        await connection.OpenAsync(cancellationToken);
        await using (var lockCommand = new NpgsqlCommand($"SELECT pg_advisory_lock({MigrationLockKey})", connection) { CommandTimeout = 0 })
        {
            await lockCommand.ExecuteNonQueryAsync(cancellationToken);
        }
        try
        {
            await db.Database.MigrateAsync(cancellationToken);
            // Hangfire.PostgreSql's installer is synchronous; it skips versions already applied.
            PostgreSqlObjectsInstaller.Install(connection, schema);
        }
        finally
        {
            await using var unlock = new NpgsqlCommand($"SELECT pg_advisory_unlock({MigrationLockKey})", connection);
            await unlock.ExecuteNonQueryAsync(CancellationToken.None);
        }
    }

    /// <summary>
    /// Waits until every EF Core migration of this build is applied and, on PostgreSQL, Hangfire's schema is at
    /// the version this build's Hangfire.PostgreSql installs. Logs what is missing every 5 seconds and throws
    /// after <see cref="StorageOptions.SchemaWaitTimeout"/>, naming that setting.
    /// </summary>
    public static async Task WaitUntilMigratedAsync(IServiceProvider services, CancellationToken cancellationToken = default)
    {
        StorageOptions storage = services.GetRequiredService<IOptions<StorageOptions>>().Value;
        TimeProvider clock = services.GetRequiredService<TimeProvider>();
        ILogger logger = services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(DatabaseSchema).FullName!);
        DateTimeOffset start = clock.GetUtcNow();
        DateTimeOffset nextLog = start;
        while (true)
        {
            string? missing = await MissingAsync(services, cancellationToken);
            DateTimeOffset now = clock.GetUtcNow();
            if (missing is null)
            {
                if (now - start >= s_pollInterval)
                {
                    logger.LogInformation("Database schema ready after {Seconds:F0} s of waiting.", (now - start).TotalSeconds);
                }
                return;
            }
            if (now - start >= storage.SchemaWaitTimeout)
            {
                throw new InvalidOperationException(
                    $"The database schema is still not ready after {storage.SchemaWaitTimeout} (Storage:SchemaWaitTimeout): {missing}. " +
                    "Storage:MigrateOnStartup is false, so this process does not migrate: run `Api migrate` " +
                    "(the migrate service of docker-compose.yml, the migrate Job of deploy/k8s), or raise Storage:SchemaWaitTimeout.");
            }
            if (now >= nextLog)
            {
                logger.LogWarning(
                    "Waiting for the database schema: {Missing}. Storage:MigrateOnStartup is false, so `Api migrate` applies it; " +
                    "giving up in {Remaining:F0} s (Storage:SchemaWaitTimeout).",
                    missing, (storage.SchemaWaitTimeout - (now - start)).TotalSeconds);
                nextLog = now + s_logInterval;
            }
            await Task.Delay(s_pollInterval, clock, cancellationToken);
        }
    }

    /// <summary>What is missing from the schema, in words; null when nothing is.</summary>
    private static async Task<string?> MissingAsync(IServiceProvider services, CancellationToken cancellationToken)
    {
        await using AsyncServiceScope scope = services.CreateAsyncScope();
        AppDbContext db = scope.ServiceProvider.GetRequiredService<AppDbContext>();
        try
        {
            HashSet<string> applied = db.Database.IsNpgsql()
                ? await AppliedPostgresMigrationsAsync(db.Database.GetConnectionString()!, cancellationToken)
                : (await db.GetService<IHistoryRepository>().GetAppliedMigrationsAsync(cancellationToken)).Select(m => m.MigrationId).ToHashSet();
            List<string> pending = db.Database.GetMigrations().Where(m => !applied.Contains(m)).ToList();
            if (pending.Count > 0)
            {
                return $"{pending.Count} EF Core migration(s) not applied (the last is {pending[^1]})";
            }
            if (!db.Database.IsNpgsql())
            {
                return null;
            }
            string schema = scope.ServiceProvider.GetRequiredService<IOptions<JobQueueOptions>>().Value.Schema;
            int expected = HangfireSchemaVersion();
            int version = await HangfireVersionAsync(db.Database.GetConnectionString()!, schema, cancellationToken);
            return version >= expected ? null : $"Hangfire's schema \"{schema}\" is at version {version}, this build needs {expected}";
        }
        catch (Exception e) when ((e is System.Data.Common.DbException or InvalidOperationException or TimeoutException) && !cancellationToken.IsCancellationRequested)
        {
            return $"the database is not reachable ({e.GetType().Name}: {e.Message})";
        }
    }

    /// <summary>
    /// The applied migrations, read with a plain query once the history table exists: EF Core's history repository
    /// on Npgsql runs its query on a fresh database too and logs the failure as an error on every poll.
    /// </summary>
    private static async Task<HashSet<string>> AppliedPostgresMigrationsAsync(string connectionString, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var exists = new NpgsqlCommand($"SELECT to_regclass('\"{HistoryRepository.DefaultTableName}\"') IS NOT NULL", connection);
        if (await exists.ExecuteScalarAsync(cancellationToken) is not true)
        {
            return [];
        }
        await using var query = new NpgsqlCommand($"SELECT \"MigrationId\" FROM \"{HistoryRepository.DefaultTableName}\"", connection);
        await using NpgsqlDataReader reader = await query.ExecuteReaderAsync(cancellationToken);
        HashSet<string> applied = [];
        while (await reader.ReadAsync(cancellationToken))
        {
            applied.Add(reader.GetString(0));
        }
        return applied;
    }

    private static async Task<int> HangfireVersionAsync(string connectionString, string schema, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var exists = new NpgsqlCommand("SELECT to_regclass(quote_ident(@schema) || '.schema') IS NOT NULL", connection);
        exists.Parameters.AddWithValue("schema", schema);
        if (await exists.ExecuteScalarAsync(cancellationToken) is not true)
        {
            return 0;
        }
        await using var version = new NpgsqlCommand($"SELECT coalesce(max(\"version\"::integer), 0) FROM \"{schema.Replace("\"", "\"\"")}\".\"schema\"", connection);
        return Convert.ToInt32(await version.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>The newest schema version this build's Hangfire.PostgreSql installs: its highest <c>Install.vN.sql</c> script.</summary>
    public static int HangfireSchemaVersion() =>
        typeof(PostgreSqlStorage).Assembly.GetManifestResourceNames()
            .Select(name => InstallScript().Match(name))
            .Where(m => m.Success)
            .Select(m => int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture))
            .DefaultIfEmpty(0)
            .Max();

    [GeneratedRegex(@"\.Install\.v(\d+)\.sql$")]
    private static partial Regex InstallScript();
}

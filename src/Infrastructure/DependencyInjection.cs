using Hangfire;
using Hangfire.PostgreSql;
using Infrastructure.Artifacts;
using Infrastructure.Data;
using Infrastructure.Jobs;
using Infrastructure.Observability;
using Infrastructure.Options;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Infrastructure;

public static class DependencyInjection
{
    /// <summary>
    /// Registers storage shared by the Api and the worker: the database selected by <c>Storage:Provider</c>,
    /// the artifact store and the Hangfire job storage (PostgreSQL, or in-memory for the embedded default).
    /// </summary>
    public static IHostApplicationBuilder AddInfrastructure(this IHostApplicationBuilder builder)
    {
        IServiceCollection services = builder.Services;
        StorageOptions storage = builder.Configuration.GetSection(StorageOptions.SectionName).Get<StorageOptions>() ?? new();
        JobQueueOptions queue = builder.Configuration.GetSection(JobQueueOptions.SectionName).Get<JobQueueOptions>() ?? new();
        services.Configure<StorageOptions>(builder.Configuration.GetSection(StorageOptions.SectionName));
        services.Configure<JobQueueOptions>(builder.Configuration.GetSection(JobQueueOptions.SectionName));
        services.AddSingleton(TimeProvider.System);

        bool postgres = IsPostgres(storage);
        // Contexts are per scope; their options depend on configuration only, so they are built once, not on every
        // request (each scoped copy re-ran the provider set-up, a cost on every request that uses the database).
        string? postgresConnection = builder.Configuration.GetConnectionString(StorageProviders.PostgresConnectionName);
        if (postgres)
        {
            if (string.IsNullOrWhiteSpace(postgresConnection))
            {
                throw new InvalidOperationException(
                    $"Storage:Provider is '{StorageProviders.Postgres}' but ConnectionStrings:{StorageProviders.PostgresConnectionName} is not set.");
            }
            services.AddDbContext<AppDbContext, PostgresAppDbContext>(o => o.UseNpgsql(postgresConnection), optionsLifetime: ServiceLifetime.Singleton);
        }
        else if (string.Equals(storage.Provider, StorageProviders.Sqlite, StringComparison.OrdinalIgnoreCase))
        {
            Directory.CreateDirectory(storage.DataDirectory);
            // SQLite cannot add a foreign key in place, so EF rebuilds such tables with PRAGMA foreign_keys
            // outside the migration's transaction and warns about it on every fresh database; that is expected here.
            services.AddDbContext<AppDbContext, SqliteAppDbContext>(o => o.UseSqlite(storage.SqliteConnectionString())
                .ConfigureWarnings(w => w.Ignore(Microsoft.EntityFrameworkCore.Diagnostics.RelationalEventId.NonTransactionalMigrationOperationWarning)),
                optionsLifetime: ServiceLifetime.Singleton);
        }
        else
        {
            throw new InvalidOperationException(
                $"Storage:Provider '{storage.Provider}' is unknown; use '{StorageProviders.Sqlite}' or '{StorageProviders.Postgres}'.");
        }

        services.AddSingleton<IArtifactStore>(_ => new FileArtifactStore(storage.ResolveArtifactRoot()));

        services.AddHangfire(config =>
        {
            config.SetDataCompatibilityLevel(CompatibilityLevel.Version_180)
                .UseSimpleAssemblyNameTypeSerializer()
                .UseRecommendedSerializerSettings();
            // Global (static) filters: add the tracing filter once even when several hosts share the process (tests).
            if (!GlobalJobFilters.Filters.Any(f => f.Instance is JobTracingFilter))
            {
                config.UseFilter(new JobTracingFilter());
            }
            if (postgres)
            {
                config.UsePostgreSqlStorage(
                    o => o.UseNpgsqlConnection(postgresConnection),
                    new PostgreSqlStorageOptions
                    {
                        SchemaName = queue.Schema,
                        // Installed by MigrateDatabaseAsync only (Api migrate, or Storage:MigrateOnStartup), under
                        // its lock: installers run by several processes at once collide (issue 11).
                        PrepareSchemaIfNecessary = false,
                        // A heartbeat keeps a running job invisible; a crashed worker's job reappears after the timeout.
                        UseSlidingInvisibilityTimeout = true,
                        InvisibilityTimeout = queue.InvisibilityTimeout,
                        QueuePollInterval = TimeSpan.FromSeconds(1),
                    });
            }
            else
            {
                config.UseInMemoryStorage();
            }
        });
        services.AddSingleton<ITrainingQueue, HangfireTrainingQueue>();
        return builder;
    }

    public static bool IsPostgres(StorageOptions storage) =>
        string.Equals(storage.Provider, StorageProviders.Postgres, StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// Applies pending migrations and, on PostgreSQL, Hangfire's schema, one migrator at a time (and enables WAL
    /// for SQLite so the worker and the Api can share the file). See <see cref="DatabaseSchema.MigrateAsync"/>.
    /// </summary>
    public static Task MigrateDatabaseAsync(this IServiceProvider services, CancellationToken cancellationToken = default) =>
        DatabaseSchema.MigrateAsync(services, cancellationToken);

    /// <summary>
    /// At start-up: migrates when <c>Storage:MigrateOnStartup</c> is true, otherwise waits (up to
    /// <c>Storage:SchemaWaitTimeout</c>) until <c>Api migrate</c> has applied every migration and Hangfire's schema.
    /// </summary>
    public static Task PrepareDatabaseAsync(this IServiceProvider services, CancellationToken cancellationToken = default) =>
        services.ShouldMigrateOnStartup()
            ? DatabaseSchema.MigrateAsync(services, cancellationToken)
            : DatabaseSchema.WaitUntilMigratedAsync(services, cancellationToken);

    /// <summary>Whether this process should migrate at start-up (<c>Storage:MigrateOnStartup</c>).</summary>
    public static bool ShouldMigrateOnStartup(this IServiceProvider services) =>
        services.GetRequiredService<IOptions<StorageOptions>>().Value.MigrateOnStartup;
}

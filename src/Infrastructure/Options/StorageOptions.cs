namespace Infrastructure.Options;

/// <summary>Section <c>Storage</c>: which database holds the metadata and the job queue.</summary>
public sealed class StorageOptions
{
    public const string SectionName = "Storage";

    /// <summary><see cref="StorageProviders.Sqlite"/> (embedded default: SQLite file + in-memory queue) or <see cref="StorageProviders.Postgres"/>.</summary>
    public string Provider { get; set; } = StorageProviders.Sqlite;

    /// <summary>Folder for the SQLite file and, unless <see cref="ArtifactRoot"/> is set, the artifact store.</summary>
    public string DataDirectory { get; set; } = "data";

    /// <summary>Artifact store root; default <c>{DataDirectory}/artifacts</c>.</summary>
    public string? ArtifactRoot { get; set; }

    /// <summary>Apply migrations at start-up. Production runs <c>Api migrate</c> once instead (deploy/).</summary>
    public bool MigrateOnStartup { get; set; } = true;

    /// <summary>
    /// With <see cref="MigrateOnStartup"/> false: how long a starting process waits for <c>Api migrate</c> to have
    /// applied our migrations and Hangfire's schema before it gives up with an error.
    /// </summary>
    public TimeSpan SchemaWaitTimeout { get; set; } = TimeSpan.FromMinutes(5);

    public string ResolveArtifactRoot() => Path.GetFullPath(ArtifactRoot ?? Path.Combine(DataDirectory, "artifacts"));

    public string SqliteConnectionString() => $"Data Source={Path.GetFullPath(Path.Combine(DataDirectory, "service.db"))};Cache=Shared";
}

/// <summary>Provider names and the connection-string name, in one place.</summary>
public static class StorageProviders
{
    public const string Sqlite = "Sqlite";
    public const string Postgres = "Postgres";

    /// <summary><c>ConnectionStrings:Postgres</c>, i.e. the environment variable <c>ConnectionStrings__Postgres</c>.</summary>
    public const string PostgresConnectionName = "Postgres";
}

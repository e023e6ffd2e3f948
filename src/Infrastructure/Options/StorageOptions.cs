namespace Infrastructure.Options;

/// <summary>Section <c>Storage</c>: which database holds the metadata and the job queue, where files go, and how they are swept.</summary>
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
    /// How often each worker's storage sweeper runs (<c>Infrastructure.Artifacts.StorageSweeper</c>); zero or less turns it off.
    /// Several workers may sweep at once.
    /// </summary>
    public TimeSpan SweepInterval { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// A staged file (the store's <c>.staging</c> folder) not written for this long is an abandoned upload or checkpoint
    /// and is deleted. Must exceed the longest pause in writing one file (a staged file still open is skipped where the
    /// file system supports locks).
    /// </summary>
    public TimeSpan StagingMaxAge { get; set; } = TimeSpan.FromHours(1);

    /// <summary>
    /// A file under <c>datasets/</c> or <c>runs/</c> that no <c>Artifact</c> row names (and, under <c>datasets/</c>, whose
    /// folder no dataset owns) is deleted once it is this old: files are committed before their rows, so younger ones may
    /// still be about to get theirs.
    /// </summary>
    public TimeSpan OrphanGracePeriod { get; set; } = TimeSpan.FromHours(1);

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

namespace Infrastructure.Data;

/// <summary>
/// Metadata of datasets, jobs, runs, metrics, curves and artifacts. One subclass per provider carries
/// that provider's migrations (<see cref="PostgresAppDbContext"/>, <see cref="SqliteAppDbContext"/>).
/// </summary>
/// <remarks>
/// Add a migration to both providers from the repository root:
/// <code>
/// dotnet tool restore
/// dotnet ef migrations add NAME -p src/Infrastructure -s src/Infrastructure -c PostgresAppDbContext -o Data/Migrations/Postgres
/// dotnet ef migrations add NAME -p src/Infrastructure -s src/Infrastructure -c SqliteAppDbContext -o Data/Migrations/Sqlite
/// </code>
/// </remarks>
public abstract class AppDbContext(DbContextOptions options) : DbContext(options)
{
    public DbSet<Dataset> Datasets => Set<Dataset>();

    public DbSet<Job> Jobs => Set<Job>();

    public DbSet<Run> Runs => Set<Run>();

    public DbSet<EpochMetric> EpochMetrics => Set<EpochMetric>();

    public DbSet<CurvePoint> CurvePoints => Set<CurvePoint>();

    public DbSet<Artifact> Artifacts => Set<Artifact>();

    public DbSet<DeviceProfile> DeviceProfiles => Set<DeviceProfile>();

    public DbSet<VariantLatency> VariantLatencies => Set<VariantLatency>();

    protected override void OnModelCreating(ModelBuilder modelBuilder) =>
        modelBuilder.ApplyConfigurationsFromAssembly(typeof(AppDbContext).Assembly);

    /// <summary>Every timestamp is UTC; SQLite stores text without a kind, so it is restored on read.</summary>
    protected override void ConfigureConventions(ModelConfigurationBuilder configurationBuilder)
    {
        configurationBuilder.Properties<DateTime>().HaveConversion<UtcDateTimeConverter>();
        configurationBuilder.Properties<DateTime?>().HaveConversion<UtcDateTimeConverter>();
    }

    private sealed class UtcDateTimeConverter() : Microsoft.EntityFrameworkCore.Storage.ValueConversion.ValueConverter<DateTime, DateTime>(
        v => v.Kind == DateTimeKind.Utc ? v : v.ToUniversalTime(),
        v => DateTime.SpecifyKind(v, DateTimeKind.Utc));
}

/// <summary>PostgreSQL (production).</summary>
public sealed class PostgresAppDbContext(DbContextOptions<PostgresAppDbContext> options) : AppDbContext(options);

/// <summary>SQLite file (embedded default).</summary>
public sealed class SqliteAppDbContext(DbContextOptions<SqliteAppDbContext> options) : AppDbContext(options);

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
/// <para>
/// Tenant-owned rows (datasets, jobs, runs, device profiles) are filtered by the <see cref="ITenantScope"/> of
/// the request: a query sees only its tenant's rows (and built-in device profiles). Rows reached through
/// them (metrics, curves, artifacts, latencies) are read after their run or dataset, so they need no filter.
/// </para>
public abstract class AppDbContext(DbContextOptions options, ITenantScope? tenantScope) : DbContext(options)
{
    /// <summary>The tenant whose rows queries see; null sees every tenant (the worker, start-up tasks).</summary>
    public Guid? TenantFilter => tenantScope?.TenantId;

    public DbSet<Tenant> Tenants => Set<Tenant>();

    public DbSet<ApiKey> ApiKeys => Set<ApiKey>();

    public DbSet<Dataset> Datasets => Set<Dataset>();

    public DbSet<Job> Jobs => Set<Job>();

    public DbSet<Run> Runs => Set<Run>();

    public DbSet<EpochMetric> EpochMetrics => Set<EpochMetric>();

    public DbSet<CurvePoint> CurvePoints => Set<CurvePoint>();

    public DbSet<Artifact> Artifacts => Set<Artifact>();

    public DbSet<DeviceProfile> DeviceProfiles => Set<DeviceProfile>();

    public DbSet<VariantLatency> VariantLatencies => Set<VariantLatency>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.ApplyConfigurationsFromAssembly(typeof(AppDbContext).Assembly);
        modelBuilder.Entity<Dataset>().HasQueryFilter(d => TenantFilter == null || d.TenantId == TenantFilter);
        modelBuilder.Entity<Job>().HasQueryFilter(j => TenantFilter == null || j.TenantId == TenantFilter);
        modelBuilder.Entity<Run>().HasQueryFilter(r => TenantFilter == null || r.TenantId == TenantFilter);
        modelBuilder.Entity<DeviceProfile>().HasQueryFilter(p => TenantFilter == null || p.TenantId == null || p.TenantId == TenantFilter);
    }

    /// <summary>Metrics, curves and latencies are reached through their (filtered) run; that is intended.</summary>
    protected override void OnConfiguring(DbContextOptionsBuilder optionsBuilder) =>
        optionsBuilder.ConfigureWarnings(w => w.Ignore(Microsoft.EntityFrameworkCore.Diagnostics.CoreEventId.PossibleIncorrectRequiredNavigationWithQueryFilterInteractionWarning));

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
public sealed class PostgresAppDbContext(DbContextOptions<PostgresAppDbContext> options, ITenantScope? tenantScope = null)
    : AppDbContext(options, tenantScope);

/// <summary>SQLite file (embedded default).</summary>
public sealed class SqliteAppDbContext(DbContextOptions<SqliteAppDbContext> options, ITenantScope? tenantScope = null)
    : AppDbContext(options, tenantScope);

/// <summary>
/// The tenant a unit of work acts for. The Api registers one per request (from the API key); the worker
/// registers none, so its queries see every tenant.
/// </summary>
public interface ITenantScope
{
    /// <summary>The tenant, <see cref="Guid.Empty"/> for an unauthenticated request (sees nothing), or null for no restriction.</summary>
    Guid? TenantId { get; }
}

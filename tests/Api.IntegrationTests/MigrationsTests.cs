using Infrastructure.Data;
using Microsoft.EntityFrameworkCore;

namespace Api.IntegrationTests;

public class MigrationsTests
{
    [Fact]
    public void PostgresModel_MatchesCheckedInMigrations()
    {
        using var db = new PostgresAppDbContext(new DbContextOptionsBuilder<PostgresAppDbContext>().UseNpgsql("Host=unused").Options);

        Assert.False(db.Database.HasPendingModelChanges(), "the model changed: add a PostgreSQL migration (see AppDbContext remarks)");
    }

    [Fact]
    public void SqliteModel_MatchesCheckedInMigrations()
    {
        using var db = new SqliteAppDbContext(new DbContextOptionsBuilder<SqliteAppDbContext>().UseSqlite("Data Source=:memory:").Options);

        Assert.False(db.Database.HasPendingModelChanges(), "the model changed: add a SQLite migration (see AppDbContext remarks)");
    }
}

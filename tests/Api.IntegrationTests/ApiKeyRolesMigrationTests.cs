using Domain.Tenants;
using Infrastructure.Data;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

namespace Api.IntegrationTests;

/// <summary>
/// Migration <c>ApiKeyRoles</c> (issue 13) turns the admin flag into a role: admin keys of the default tenant become
/// <c>ServiceAdmin</c>, admin keys of other tenants <c>TenantAdmin</c>, the rest <c>Member</c>. Checked on SQLite.
/// </summary>
public class ApiKeyRolesMigrationTests
{
    [Fact]
    public async Task SqliteMigration_MapsAdminFlagToRoles()
    {
        string file = Path.Combine(Path.GetTempPath(), $"tas-roles-{Guid.NewGuid():N}.db");
        try
        {
            await using var db = new SqliteAppDbContext(new DbContextOptionsBuilder<SqliteAppDbContext>().UseSqlite($"Data Source={file}").Options);
            IMigrator migrator = db.GetService<IMigrator>();
            string before = db.Database.GetMigrations().TakeWhile(m => !m.EndsWith("_ApiKeyRoles", StringComparison.Ordinal)).Last();
            await migrator.MigrateAsync(before);

            const string other = "0195B2C4-0000-7000-8000-000000000002";
            await db.Database.ExecuteSqlAsync($"INSERT INTO tenants (\"Id\", \"Name\", \"CreatedAt\") VALUES ({other}, 'other', '2026-11-30 00:00:00')");
            foreach ((string name, string tenant, int admin) in new[]
            {
                ("default-admin", "00000000-0000-0000-0000-000000000001", 1), ("default-member", "00000000-0000-0000-0000-000000000001", 0),
                ("other-admin", other, 1), ("other-member", other, 0),
            })
            {
                string id = Guid.NewGuid().ToString().ToUpperInvariant();
                await db.Database.ExecuteSqlAsync(
                    $"INSERT INTO api_keys (\"Id\", \"TenantId\", \"Name\", \"Hash\", \"Prefix\", \"IsAdmin\", \"CreatedAt\") VALUES ({id}, {tenant}, {name}, {name}, 'tsk_', {admin}, '2026-11-30 00:00:00')");
            }

            await migrator.MigrateAsync();

            Dictionary<string, ApiKeyRole> roles = await db.ApiKeys.AsNoTracking().ToDictionaryAsync(k => k.Name, k => k.Role);
            Assert.Equal(ApiKeyRole.ServiceAdmin, roles["default-admin"]);
            Assert.Equal(ApiKeyRole.Member, roles["default-member"]);
            Assert.Equal(ApiKeyRole.TenantAdmin, roles["other-admin"]);
            Assert.Equal(ApiKeyRole.Member, roles["other-member"]);
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            File.Delete(file);
        }
    }
}

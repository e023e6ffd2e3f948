using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Infrastructure.Data.Migrations.Postgres
{
    /// <inheritdoc />
    public partial class ApiKeyRoles : Migration
    {
        /// <inheritdoc />
        /// <remarks>
        /// Admin keys of the default tenant (the bootstrap and local keys, and those created for it) become
        /// <c>ServiceAdmin</c>; admin keys of any other tenant become <c>TenantAdmin</c>; the rest <c>Member</c>.
        /// </remarks>
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "Role",
                table: "api_keys",
                type: "character varying(16)",
                maxLength: 16,
                nullable: false,
                defaultValue: "Member");

            migrationBuilder.Sql("""
                UPDATE api_keys SET "Role" = CASE WHEN NOT ("IsAdmin") THEN 'Member' WHEN "TenantId" = '00000000-0000-0000-0000-000000000001' THEN 'ServiceAdmin' ELSE 'TenantAdmin' END;
                """);

            migrationBuilder.DropColumn(
                name: "IsAdmin",
                table: "api_keys");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<bool>(
                name: "IsAdmin",
                table: "api_keys",
                type: "boolean",
                nullable: false,
                defaultValue: false);

            migrationBuilder.Sql("""
                UPDATE api_keys SET "IsAdmin" = ("Role" <> 'Member');
                """);

            migrationBuilder.DropColumn(
                name: "Role",
                table: "api_keys");
        }
    }
}

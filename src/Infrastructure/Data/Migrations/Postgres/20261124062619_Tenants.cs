using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Infrastructure.Data.Migrations.Postgres
{
    /// <inheritdoc />
    public partial class Tenants : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "IX_jobs_IdempotencyKey",
                table: "jobs");

            migrationBuilder.DropIndex(
                name: "IX_device_profiles_Name",
                table: "device_profiles");

            migrationBuilder.DropIndex(
                name: "IX_datasets_ContentHash",
                table: "datasets");

            migrationBuilder.DropIndex(
                name: "IX_datasets_CreatedAt",
                table: "datasets");

            migrationBuilder.AddColumn<Guid>(
                name: "TenantId",
                table: "runs",
                type: "uuid",
                nullable: false,
                defaultValue: new Guid("00000000-0000-0000-0000-000000000001"));

            migrationBuilder.AddColumn<Guid>(
                name: "TenantId",
                table: "jobs",
                type: "uuid",
                nullable: false,
                defaultValue: new Guid("00000000-0000-0000-0000-000000000001"));

            migrationBuilder.AddColumn<Guid>(
                name: "TenantId",
                table: "device_profiles",
                type: "uuid",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "ClassCounts",
                table: "datasets",
                type: "character varying(16000)",
                maxLength: 16000,
                nullable: false,
                defaultValue: "");

            migrationBuilder.AddColumn<Guid>(
                name: "TenantId",
                table: "datasets",
                type: "uuid",
                nullable: false,
                defaultValue: new Guid("00000000-0000-0000-0000-000000000001"));

            migrationBuilder.AddColumn<string>(
                name: "TestClassCounts",
                table: "datasets",
                type: "character varying(16000)",
                maxLength: 16000,
                nullable: false,
                defaultValue: "");

            migrationBuilder.CreateTable(
                name: "tenants",
                columns: table => new
                {
                    Id = table.Column<Guid>(type: "uuid", nullable: false),
                    Name = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    CreatedAt = table.Column<DateTime>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_tenants", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "api_keys",
                columns: table => new
                {
                    Id = table.Column<Guid>(type: "uuid", nullable: false),
                    TenantId = table.Column<Guid>(type: "uuid", nullable: false),
                    Name = table.Column<string>(type: "character varying(100)", maxLength: 100, nullable: false),
                    Hash = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    Prefix = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false),
                    IsAdmin = table.Column<bool>(type: "boolean", nullable: false),
                    CreatedAt = table.Column<DateTime>(type: "timestamp with time zone", nullable: false),
                    RevokedAt = table.Column<DateTime>(type: "timestamp with time zone", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_api_keys", x => x.Id);
                    table.ForeignKey(
                        name: "FK_api_keys_tenants_TenantId",
                        column: x => x.TenantId,
                        principalTable: "tenants",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.InsertData(
                table: "tenants",
                columns: new[] { "Id", "CreatedAt", "Name" },
                values: new object[] { new Guid("00000000-0000-0000-0000-000000000001"), new DateTime(2026, 11, 24, 0, 0, 0, 0, DateTimeKind.Utc), "default" });

            migrationBuilder.CreateIndex(
                name: "IX_runs_TenantId_StartedAt",
                table: "runs",
                columns: new[] { "TenantId", "StartedAt" });

            migrationBuilder.CreateIndex(
                name: "IX_jobs_TenantId_CreatedAt",
                table: "jobs",
                columns: new[] { "TenantId", "CreatedAt" });

            migrationBuilder.CreateIndex(
                name: "IX_jobs_TenantId_IdempotencyKey",
                table: "jobs",
                columns: new[] { "TenantId", "IdempotencyKey" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_device_profiles_Name",
                table: "device_profiles",
                column: "Name",
                unique: true,
                filter: "\"TenantId\" IS NULL");

            migrationBuilder.CreateIndex(
                name: "IX_device_profiles_TenantId_Name",
                table: "device_profiles",
                columns: new[] { "TenantId", "Name" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_datasets_TenantId_ContentHash",
                table: "datasets",
                columns: new[] { "TenantId", "ContentHash" });

            migrationBuilder.CreateIndex(
                name: "IX_datasets_TenantId_CreatedAt",
                table: "datasets",
                columns: new[] { "TenantId", "CreatedAt" });

            migrationBuilder.CreateIndex(
                name: "IX_api_keys_Hash",
                table: "api_keys",
                column: "Hash",
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_api_keys_TenantId",
                table: "api_keys",
                column: "TenantId");

            migrationBuilder.CreateIndex(
                name: "IX_tenants_Name",
                table: "tenants",
                column: "Name",
                unique: true);

            migrationBuilder.AddForeignKey(
                name: "FK_datasets_tenants_TenantId",
                table: "datasets",
                column: "TenantId",
                principalTable: "tenants",
                principalColumn: "Id",
                onDelete: ReferentialAction.Restrict);

            migrationBuilder.AddForeignKey(
                name: "FK_device_profiles_tenants_TenantId",
                table: "device_profiles",
                column: "TenantId",
                principalTable: "tenants",
                principalColumn: "Id",
                onDelete: ReferentialAction.Restrict);

            migrationBuilder.AddForeignKey(
                name: "FK_jobs_tenants_TenantId",
                table: "jobs",
                column: "TenantId",
                principalTable: "tenants",
                principalColumn: "Id",
                onDelete: ReferentialAction.Restrict);

            migrationBuilder.AddForeignKey(
                name: "FK_runs_tenants_TenantId",
                table: "runs",
                column: "TenantId",
                principalTable: "tenants",
                principalColumn: "Id",
                onDelete: ReferentialAction.Restrict);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropForeignKey(
                name: "FK_datasets_tenants_TenantId",
                table: "datasets");

            migrationBuilder.DropForeignKey(
                name: "FK_device_profiles_tenants_TenantId",
                table: "device_profiles");

            migrationBuilder.DropForeignKey(
                name: "FK_jobs_tenants_TenantId",
                table: "jobs");

            migrationBuilder.DropForeignKey(
                name: "FK_runs_tenants_TenantId",
                table: "runs");

            migrationBuilder.DropTable(
                name: "api_keys");

            migrationBuilder.DropTable(
                name: "tenants");

            migrationBuilder.DropIndex(
                name: "IX_runs_TenantId_StartedAt",
                table: "runs");

            migrationBuilder.DropIndex(
                name: "IX_jobs_TenantId_CreatedAt",
                table: "jobs");

            migrationBuilder.DropIndex(
                name: "IX_jobs_TenantId_IdempotencyKey",
                table: "jobs");

            migrationBuilder.DropIndex(
                name: "IX_device_profiles_Name",
                table: "device_profiles");

            migrationBuilder.DropIndex(
                name: "IX_device_profiles_TenantId_Name",
                table: "device_profiles");

            migrationBuilder.DropIndex(
                name: "IX_datasets_TenantId_ContentHash",
                table: "datasets");

            migrationBuilder.DropIndex(
                name: "IX_datasets_TenantId_CreatedAt",
                table: "datasets");

            migrationBuilder.DropColumn(
                name: "TenantId",
                table: "runs");

            migrationBuilder.DropColumn(
                name: "TenantId",
                table: "jobs");

            migrationBuilder.DropColumn(
                name: "TenantId",
                table: "device_profiles");

            migrationBuilder.DropColumn(
                name: "ClassCounts",
                table: "datasets");

            migrationBuilder.DropColumn(
                name: "TenantId",
                table: "datasets");

            migrationBuilder.DropColumn(
                name: "TestClassCounts",
                table: "datasets");

            migrationBuilder.CreateIndex(
                name: "IX_jobs_IdempotencyKey",
                table: "jobs",
                column: "IdempotencyKey",
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_device_profiles_Name",
                table: "device_profiles",
                column: "Name",
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_datasets_ContentHash",
                table: "datasets",
                column: "ContentHash");

            migrationBuilder.CreateIndex(
                name: "IX_datasets_CreatedAt",
                table: "datasets",
                column: "CreatedAt");
        }
    }
}

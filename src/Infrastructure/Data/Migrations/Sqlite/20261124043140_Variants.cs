using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Infrastructure.Data.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class Variants : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<double>(
                name: "RankFraction",
                table: "artifacts",
                type: "REAL",
                nullable: true);

            migrationBuilder.CreateTable(
                name: "device_profiles",
                columns: table => new
                {
                    Id = table.Column<Guid>(type: "TEXT", nullable: false),
                    Name = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    Description = table.Column<string>(type: "TEXT", maxLength: 1000, nullable: true),
                    CpuModel = table.Column<string>(type: "TEXT", maxLength: 200, nullable: true),
                    Cores = table.Column<int>(type: "INTEGER", nullable: true),
                    Threads = table.Column<int>(type: "INTEGER", nullable: true),
                    GpuName = table.Column<string>(type: "TEXT", maxLength: 200, nullable: true),
                    BuiltIn = table.Column<bool>(type: "INTEGER", nullable: false),
                    CreatedAt = table.Column<DateTime>(type: "TEXT", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_device_profiles", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "variant_latencies",
                columns: table => new
                {
                    Id = table.Column<Guid>(type: "TEXT", nullable: false),
                    RunId = table.Column<Guid>(type: "TEXT", nullable: false),
                    RankFraction = table.Column<double>(type: "REAL", nullable: false),
                    DeviceProfileId = table.Column<Guid>(type: "TEXT", nullable: false),
                    Batch = table.Column<int>(type: "INTEGER", nullable: false),
                    MedianMs = table.Column<double>(type: "REAL", nullable: false),
                    P90Ms = table.Column<double>(type: "REAL", nullable: false),
                    Runs = table.Column<int>(type: "INTEGER", nullable: false),
                    Runtime = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    Threads = table.Column<int>(type: "INTEGER", nullable: true),
                    MeasuredAt = table.Column<DateTime>(type: "TEXT", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_variant_latencies", x => x.Id);
                    table.ForeignKey(
                        name: "FK_variant_latencies_device_profiles_DeviceProfileId",
                        column: x => x.DeviceProfileId,
                        principalTable: "device_profiles",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                    table.ForeignKey(
                        name: "FK_variant_latencies_runs_RunId",
                        column: x => x.RunId,
                        principalTable: "runs",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateIndex(
                name: "IX_artifacts_RunId_Kind_RankFraction",
                table: "artifacts",
                columns: new[] { "RunId", "Kind", "RankFraction" });

            migrationBuilder.CreateIndex(
                name: "IX_device_profiles_Name",
                table: "device_profiles",
                column: "Name",
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_variant_latencies_DeviceProfileId_Batch",
                table: "variant_latencies",
                columns: new[] { "DeviceProfileId", "Batch" });

            migrationBuilder.CreateIndex(
                name: "IX_variant_latencies_RunId_RankFraction_DeviceProfileId_Batch",
                table: "variant_latencies",
                columns: new[] { "RunId", "RankFraction", "DeviceProfileId", "Batch" },
                unique: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "variant_latencies");

            migrationBuilder.DropTable(
                name: "device_profiles");

            migrationBuilder.DropIndex(
                name: "IX_artifacts_RunId_Kind_RankFraction",
                table: "artifacts");

            migrationBuilder.DropColumn(
                name: "RankFraction",
                table: "artifacts");
        }
    }
}

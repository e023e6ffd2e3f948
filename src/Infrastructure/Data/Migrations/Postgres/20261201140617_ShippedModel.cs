using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Infrastructure.Data.Migrations.Postgres
{
    /// <inheritdoc />
    public partial class ShippedModel : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "ModelSelection",
                table: "runs",
                type: "character varying(32)",
                maxLength: 32,
                nullable: true);

            migrationBuilder.AddColumn<int>(
                name: "ShippedEpoch",
                table: "runs",
                type: "integer",
                nullable: true);

            migrationBuilder.AddColumn<double>(
                name: "ValidationAccuracy",
                table: "runs",
                type: "double precision",
                nullable: true);

            migrationBuilder.AddColumn<double>(
                name: "ValidationAccuracy",
                table: "epoch_metrics",
                type: "double precision",
                nullable: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "ModelSelection",
                table: "runs");

            migrationBuilder.DropColumn(
                name: "ShippedEpoch",
                table: "runs");

            migrationBuilder.DropColumn(
                name: "ValidationAccuracy",
                table: "runs");

            migrationBuilder.DropColumn(
                name: "ValidationAccuracy",
                table: "epoch_metrics");
        }
    }
}

using Api.Extensions;
using Infrastructure;
using Worker;

WebApplicationBuilder builder = WebApplication.CreateBuilder(args);
builder.AddInfrastructure();
builder.AddApi();
if (builder.RunsWorkerInProcess())
{
    // Embedded default: one process serves the API and trains (in-memory queue, SQLite file).
    builder.AddWorker();
}

WebApplication app = builder.Build();
if (args.Contains("migrate"))
{
    // Production: run once per release (deploy/), then start the Api and workers without migrating.
    await app.Services.MigrateDatabaseAsync();
    return;
}
if (app.Services.ShouldMigrateOnStartup())
{
    await app.Services.MigrateDatabaseAsync();
}
app.MapApi();
await app.RunAsync();

/// <summary>Entry point, visible to WebApplicationFactory in the integration tests.</summary>
public partial class Program;

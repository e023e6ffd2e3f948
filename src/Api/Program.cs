using Api.Auth;
using Api.Extensions;
using Api.OpenApi;
using Infrastructure;
using Worker;

WebApplicationBuilder builder = WebApplication.CreateBuilder(args);
builder.AddInfrastructure();
builder.AddApi();
bool command = args.Length > 0 && args[0] is "migrate" or "create-key" or OpenApiCommand.Name;
if (builder.RunsWorkerInProcess() && !command)
{
    // Embedded default: one process serves the API and trains (in-memory queue, SQLite file).
    builder.AddWorker();
}

if (args.Length > 0 && args[0] == OpenApiCommand.Name)
{
    OpenApiCommand.Configure(builder);
}

WebApplication app = builder.Build();
if (args.Length > 0 && args[0] == "migrate")
{
    // Production: run once per release (deploy/), then start the Api and workers without migrating: our
    // migrations and Hangfire's schema, which no other process installs (they wait for it).
    await app.Services.MigrateDatabaseAsync();
    return 0;
}
if (args.Length > 0 && args[0] == "create-key")
{
    // Operators: `Api create-key --tenant NAME [--name KEYNAME] [--role ROLE]` prints a new key once.
    return await KeyCommand.RunAsync(app.Services, args[1..]);
}
if (args.Length > 0 && args[0] == OpenApiCommand.Name)
{
    // CI: `Api openapi FILE` writes swagger.json without serving it (test.sh lints it with Redocly).
    app.MapApi();
    return await OpenApiCommand.RunAsync(app, args[1..]);
}
// Migrates (Storage:MigrateOnStartup) or waits for `migrate` to have done it, before anything reads a table.
await app.Services.PrepareDatabaseAsync();
await app.Services.BootstrapApiKeysAsync();
app.MapApi();
await app.RunAsync();
return 0;

/// <summary>Entry point, visible to WebApplicationFactory in the integration tests.</summary>
public partial class Program;

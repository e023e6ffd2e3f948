using Infrastructure;
using Microsoft.AspNetCore.Builder;
using Worker.Hosting;

namespace Worker;

/// <summary>
/// A training worker: a Hangfire server on the shared PostgreSQL queue, plus a small HTTP listener for
/// metrics and probes (<see cref="WorkerEndpoint"/>). Scale out by running more of these.
/// </summary>
public static class Program
{
    public static async Task Main(string[] args)
    {
        WebApplicationBuilder builder = WebApplication.CreateBuilder(args);
        // Defaults in code, not an appsettings.json: the Api references this project, and a second
        // appsettings.json would collide with the Api's own when it is published.
        builder.Logging.AddFilter("Microsoft.EntityFrameworkCore", LogLevel.Warning);
        builder.Logging.AddFilter("Hangfire", LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.AddInfrastructure();
        builder.AddWorker();
        builder.AddWorkerEndpoint();

        WebApplication app = builder.Build();
        // Migrates (Storage:MigrateOnStartup) or waits for `Api migrate`; the Hangfire server starts after it.
        await app.Services.PrepareDatabaseAsync();
        app.MapWorkerEndpoint();
        await app.RunAsync();
    }
}

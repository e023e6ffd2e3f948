using Infrastructure;

namespace Worker;

/// <summary>A training worker: a Hangfire server on the shared PostgreSQL queue. Scale out by running more of these.</summary>
public static class Program
{
    public static async Task Main(string[] args)
    {
        HostApplicationBuilder builder = Host.CreateApplicationBuilder(args);
        // Defaults in code, not an appsettings.json: the Api references this project, and a second
        // appsettings.json would collide with the Api's own when it is published.
        builder.Logging.AddFilter("Microsoft.EntityFrameworkCore", LogLevel.Warning);
        builder.Logging.AddFilter("Hangfire", LogLevel.Warning);
        builder.AddInfrastructure();
        builder.AddWorker();

        IHost host = builder.Build();
        if (host.Services.ShouldMigrateOnStartup())
        {
            await host.Services.MigrateDatabaseAsync();
        }
        await host.RunAsync();
    }
}

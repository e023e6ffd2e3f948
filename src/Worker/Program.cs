using Infrastructure;
using Worker;

// A training worker: a Hangfire server on the shared PostgreSQL queue. Scale out by running more of these.
HostApplicationBuilder builder = Host.CreateApplicationBuilder(args);
builder.AddInfrastructure();
builder.AddWorker();

IHost host = builder.Build();
if (host.Services.ShouldMigrateOnStartup())
{
    await host.Services.MigrateDatabaseAsync();
}
await host.RunAsync();

using Infrastructure.Observability;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;

namespace Worker.Hosting;

/// <summary>
/// The standalone worker's only HTTP listener, on <see cref="WorkerOptions.MetricsPort"/>: Prometheus
/// <c>/metrics</c>, <c>/health/live</c> and <c>/health/ready</c> (database, migrations, torch device, Hangfire
/// heartbeat). Nothing else is served there. The embedded worker has none: the Api serves the same endpoints.
/// </summary>
public static class WorkerEndpoint
{
    public static WebApplicationBuilder AddWorkerEndpoint(this WebApplicationBuilder builder)
    {
        WorkerOptions options = builder.Configuration.GetSection(WorkerOptions.SectionName).Get<WorkerOptions>() ?? new();
        // An explicit endpoint replaces ASPNETCORE_URLS / ASPNETCORE_HTTP_PORTS (8080 in the .NET images).
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.ListenAnyIP(options.MetricsPort));
        builder.AddServiceTelemetry("tas-worker");
        builder.AddServiceHealthChecks();
        return builder;
    }

    public static WebApplication MapWorkerEndpoint(this WebApplication app)
    {
        app.MapServiceHealthChecks();
        app.MapMetrics();
        return app;
    }
}

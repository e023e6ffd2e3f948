using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Infrastructure.Observability;

public static class TelemetryExtensions
{
    /// <summary>Standard OpenTelemetry variable: when set, traces, metrics and logs are also exported over OTLP.</summary>
    public const string OtlpEndpointVariable = "OTEL_EXPORTER_OTLP_ENDPOINT";

    /// <summary>Standard OpenTelemetry variable that overrides the default service name.</summary>
    public const string ServiceNameVariable = "OTEL_SERVICE_NAME";

    public const string MetricsPath = "/metrics";

    /// <summary>
    /// OpenTelemetry for one process: traces of ASP.NET Core (REST and gRPC), HttpClient, EF Core and the
    /// service's own <see cref="ServiceTelemetry.ActivitySource"/> (job attempts, epochs); metrics of the same
    /// plus the .NET runtime, Npgsql and <see cref="ServiceTelemetry.Meter"/>, served for Prometheus at
    /// <see cref="MetricsPath"/> (<see cref="MapMetrics"/>). OTLP export is added when
    /// <see cref="OtlpEndpointVariable"/> is set. Log lines get the current TraceId and SpanId in their scope.
    /// Idempotent: the Api with an in-process worker calls it once.
    /// </summary>
    public static IHostApplicationBuilder AddServiceTelemetry(this IHostApplicationBuilder builder, string serviceName)
    {
        if (builder.Services.Any(s => s.ServiceType == typeof(TelemetryMarker)))
        {
            return builder;
        }
        builder.Services.AddSingleton<TelemetryMarker>();
        IConfiguration configuration = builder.Configuration;
        builder.Logging.Configure(o => o.ActivityTrackingOptions = ActivityTrackingOptions.TraceId | ActivityTrackingOptions.SpanId);

        OpenTelemetryBuilder otel = builder.Services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService(
                configuration[ServiceNameVariable] is { Length: > 0 } name ? name : serviceName,
                serviceVersion: typeof(TelemetryExtensions).Assembly.GetName().Version?.ToString(),
                serviceInstanceId: $"{Environment.MachineName}:{Environment.ProcessId}"))
            .WithTracing(tracing => tracing
                .AddSource(ServiceTelemetry.Name)
                // Probes and scrapes every few seconds would drown the traces that matter.
                .AddAspNetCoreInstrumentation(o => o.Filter = http => !IsOperationalPath(http.Request.Path))
                .AddHttpClientInstrumentation()
                // EF Core spans cover both providers; Npgsql's own spans would duplicate them on PostgreSQL.
                .AddEntityFrameworkCoreInstrumentation())
            .WithMetrics(metrics => metrics
                .AddMeter(ServiceTelemetry.Name)
                .AddAspNetCoreInstrumentation()
                .AddHttpClientInstrumentation()
                .AddRuntimeInstrumentation()
                .AddNpgsqlInstrumentation()
                .AddPrometheusExporter());
        if (!string.IsNullOrWhiteSpace(configuration[OtlpEndpointVariable]))
        {
            // Reads the standard OTEL_EXPORTER_OTLP_* variables (endpoint, protocol, headers).
            otel.UseOtlpExporter();
        }
        return builder;
    }

    /// <summary>The Prometheus scrape endpoint, open like the probes (it carries no tenant data, no ids).</summary>
    public static IEndpointRouteBuilder MapMetrics(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapPrometheusScrapingEndpoint(MetricsPath).AllowAnonymous();
        return endpoints;
    }

    private static bool IsOperationalPath(PathString path) =>
        path.StartsWithSegments(MetricsPath) || path.StartsWithSegments("/health") || path.StartsWithSegments("/healthz");

    private sealed class TelemetryMarker;
}

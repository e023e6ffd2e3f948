using System.Text.Json;
using Infrastructure.Data;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;

namespace Infrastructure.Observability;

/// <summary>
/// ASP.NET Core health checks of the Api and the workers. <c>/health/live</c> runs no check (the process
/// answers: restart it only when it does not); <c>/health/ready</c> runs the checks tagged
/// <see cref="ReadyTag"/>: the database (EF Core's check), pending migrations, and on a worker its torch
/// device and its Hangfire server heartbeat. Both answer JSON.
/// </summary>
public static class HealthChecks
{
    public const string ReadyTag = "ready";
    public const string LivePath = "/health/live";
    public const string ReadyPath = "/health/ready";

    private static readonly JsonSerializerOptions s_json = new(JsonSerializerDefaults.Web) { WriteIndented = false };

    /// <summary>Registers the database checks; idempotent, so the Api and an in-process worker may both call it.</summary>
    public static IHealthChecksBuilder AddServiceHealthChecks(this IHostApplicationBuilder builder)
    {
        IHealthChecksBuilder checks = builder.Services.AddHealthChecks();
        if (!builder.Services.Any(s => s.ServiceType == typeof(MigrationsHealthCheck)))
        {
            builder.Services.AddSingleton<MigrationsHealthCheck>();
            checks.AddDbContextCheck<AppDbContext>("database", HealthStatus.Unhealthy, [ReadyTag]);
            checks.AddCheck<MigrationsHealthCheck>("migrations", HealthStatus.Unhealthy, [ReadyTag], TimeSpan.FromSeconds(10));
        }
        return checks;
    }

    /// <summary>Maps <c>/health/live</c> and <c>/health/ready</c> (open to anonymous callers, like the probes that call them).</summary>
    public static IEndpointRouteBuilder MapServiceHealthChecks(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapHealthChecks(LivePath, Live).AllowAnonymous();
        endpoints.MapHealthChecks(ReadyPath, Ready).AllowAnonymous();
        return endpoints;
    }

    /// <summary>Liveness: no checks, only that the process serves requests.</summary>
    public static HealthCheckOptions Live { get; } = new() { Predicate = _ => false, ResponseWriter = WriteJsonAsync };

    /// <summary>Readiness: every check tagged <see cref="ReadyTag"/>.</summary>
    public static HealthCheckOptions Ready { get; } = new() { Predicate = c => c.Tags.Contains(ReadyTag), ResponseWriter = WriteJsonAsync };

    /// <summary><c>{"status":"Healthy","totalDuration":"…","entries":{"database":{"status":…,"description":…,"duration":…,"data":{…}}}}</c>.</summary>
    public static Task WriteJsonAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json; charset=utf-8";
        var body = new
        {
            status = report.Status.ToString(),
            totalDuration = report.TotalDuration.TotalMilliseconds,
            entries = report.Entries.ToDictionary(e => e.Key, e => new
            {
                status = e.Value.Status.ToString(),
                description = e.Value.Description ?? e.Value.Exception?.Message,
                duration = e.Value.Duration.TotalMilliseconds,
                data = e.Value.Data.Count == 0 ? null : e.Value.Data,
            }),
        };
        return context.Response.WriteAsync(JsonSerializer.Serialize(body, s_json));
    }
}

/// <summary>Unhealthy while migrations are pending, so pods wait for the migrate job before taking traffic or jobs.</summary>
internal sealed class MigrationsHealthCheck(IServiceScopeFactory scopes) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        await using AsyncServiceScope scope = scopes.CreateAsyncScope();
        AppDbContext db = scope.ServiceProvider.GetRequiredService<AppDbContext>();
        List<string> pending = (await db.Database.GetPendingMigrationsAsync(cancellationToken)).ToList();
        return pending.Count == 0
            ? HealthCheckResult.Healthy("Every migration is applied.")
            : HealthCheckResult.Unhealthy($"{pending.Count} migration(s) pending: {string.Join(", ", pending)}.");
    }
}

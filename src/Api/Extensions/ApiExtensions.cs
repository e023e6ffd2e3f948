using System.Text.Json.Serialization;
using Api.Datasets;
using Api.Devices;
using Api.ErrorHandling;
using static Api.Grpc.GrpcExtensions;
using Api.Jobs;
using Api.Runs;
using Api.Variants;
using Hangfire;
using Hangfire.Dashboard;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.OpenApi;

namespace Api.Extensions;

/// <summary>Section <c>Api</c>.</summary>
public sealed class ApiOptions
{
    public const string SectionName = "Api";

    /// <summary>Largest accepted request body (dataset uploads), in bytes.</summary>
    public long MaxUploadBytes { get; set; } = 1L << 30;

    /// <summary>Allow actions (retry, delete) on the Hangfire dashboard; it is read-only otherwise.</summary>
    public bool DashboardWritable { get; set; }

    /// <summary>
    /// Who may open the Hangfire dashboard: <c>Local</c> (loopback requests only) or <c>Any</c> (for
    /// deployments behind an authenticating proxy, e.g. a Kubernetes Service reached through port-forward).
    /// </summary>
    public string DashboardAccess { get; set; } = "Local";
}

internal static class ApiExtensions
{
    public static IHostApplicationBuilder AddApi(this IHostApplicationBuilder builder)
    {
        IServiceCollection services = builder.Services;
        ApiOptions options = builder.Configuration.GetSection(ApiOptions.SectionName).Get<ApiOptions>() ?? new();
        services.Configure<ApiOptions>(builder.Configuration.GetSection(ApiOptions.SectionName));
        services.AddProblemDetails();
        services.AddExceptionHandler<ProblemDetailsExceptionHandler>();
        services.ConfigureHttpJsonOptions(json =>
        {
            json.SerializerOptions.Converters.Add(new JsonStringEnumConverter());
            json.SerializerOptions.DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull;
        });
        services.Configure<FormOptions>(f => f.MultipartBodyLengthLimit = options.MaxUploadBytes);
        services.Configure<Microsoft.AspNetCore.Server.Kestrel.Core.KestrelServerOptions>(k => k.Limits.MaxRequestBodySize = options.MaxUploadBytes);
        services.AddEndpointsApiExplorer();
        services.AddSwaggerGen(swagger =>
        {
            swagger.SwaggerDoc("v1", new OpenApiInfo
            {
                Title = "Training service",
                Version = "v1",
                Description = "Upload datasets, train one low-rank network that can be cut to many sizes, read its rank-accuracy curve.",
            });
        });
        services.AddScoped<DatasetUploadService>();
        services.AddScoped<JobService>();
        services.AddScoped<VariantCatalog>();
        services.AddMemoryCache();
        services.AddSingleton<VariantPriceCache>();
        builder.AddGrpcApi();
        return builder;
    }

    /// <summary>Ready when the database answers and has every migration (so pods wait for the migrate job).</summary>
    private static async Task<IResult> ReadyAsync(AppDbContext db, CancellationToken cancellationToken)
    {
        try
        {
            IEnumerable<string> pending = await db.Database.GetPendingMigrationsAsync(cancellationToken);
            return pending.Any()
                ? TypedResults.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "Database migrations are pending.")
                : TypedResults.Ok(new { status = "ready" });
        }
        catch (Exception ex) when (ex is System.Data.Common.DbException or InvalidOperationException)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "Database unreachable.", detail: ex.Message);
        }
    }

    private sealed class AllowAllDashboardFilter : IDashboardAuthorizationFilter
    {
        public bool Authorize(DashboardContext context) => true;
    }

    public static WebApplication MapApi(this WebApplication app)
    {
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseSwagger();
        app.UseSwaggerUI();
        RouteGroupBuilder v1 = app.MapGroup("/api/v1");
        v1.MapDatasetsApi();
        v1.MapJobsApi();
        v1.MapRunsApi();
        app.MapGrpcApi();
        v1.MapVariantsApi();
        v1.MapDevicesApi();
        app.MapGet("/healthz", () => TypedResults.Ok(new { status = "ok" })).ExcludeFromDescription();
        app.MapGet("/healthz/ready", ReadyAsync).ExcludeFromDescription();
        ApiOptions options = app.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<ApiOptions>>().Value;
        bool anyone = string.Equals(options.DashboardAccess, "Any", StringComparison.OrdinalIgnoreCase);
        app.UseHangfireDashboard("/hangfire", new DashboardOptions
        {
            Authorization = anyone ? [new AllowAllDashboardFilter()] : [new LocalRequestsOnlyAuthorizationFilter()],
            IsReadOnlyFunc = _ => !options.DashboardWritable,
            DisplayStorageConnectionString = false,
        });
        return app;
    }
}

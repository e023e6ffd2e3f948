using System.Text.Json.Serialization;
using Api.Datasets;
using Api.ErrorHandling;
using Api.Jobs;
using Api.Runs;
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
        return builder;
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
        app.MapGet("/healthz", () => TypedResults.Ok(new { status = "ok" })).ExcludeFromDescription();
        bool writable = app.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<ApiOptions>>().Value.DashboardWritable;
        app.UseHangfireDashboard("/hangfire", new DashboardOptions
        {
            // Local requests only (Hangfire's default) until API keys arrive; read-only unless configured.
            Authorization = [new LocalRequestsOnlyAuthorizationFilter()],
            IsReadOnlyFunc = _ => !writable,
            DisplayStorageConnectionString = false,
        });
        return app;
    }
}

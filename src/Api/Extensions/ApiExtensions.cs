using System.Text.Json.Serialization;
using Api.Auth;
using Api.Datasets;
using Api.Devices;
using Api.ErrorHandling;
using static Api.Grpc.GrpcExtensions;
using Api.Jobs;
using Api.Runs;
using Api.Tenants;
using Api.Variants;
using Api.Workers;
using Hangfire;
using Hangfire.Dashboard;
using Infrastructure.Observability;
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
    /// Job submissions (REST and gRPC) processed at once per Api process; more wait in line. Keep it below the
    /// database connection pool size (Npgsql's <c>Maximum Pool Size</c>, 100 by default).
    /// </summary>
    public int MaxConcurrentSubmissions { get; set; } = 16;

    /// <summary>How long a submission waits for a slot (<see cref="MaxConcurrentSubmissions"/>) before it is answered 503.</summary>
    public TimeSpan SubmissionQueueTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Text fields (<c>name</c>, <c>format</c>, format options) one dataset upload may send; more is a 400 naming <c>body</c>.</summary>
    public int MaxFormFields { get; set; } = 32;

    /// <summary>
    /// Largest text field of a dataset upload, in UTF-8 bytes; a longer one is a 400 naming the field, refused before the
    /// rest of it is read. Text fields count toward <see cref="MaxUploadBytes"/> with the files.
    /// </summary>
    public int MaxFormFieldLength { get; set; } = 4096;

    /// <summary>Open gRPC WatchJob streams per tenant in one Api process; one more is RESOURCE_EXHAUSTED.</summary>
    public int MaxWatchStreamsPerTenant { get; set; } = 16;

    /// <summary>
    /// How long an ordinary request may run before it is cancelled and answered 504 (problem+json naming this setting);
    /// zero or less: no limit. Uploads have <see cref="UploadRequestTimeout"/>; WatchJob streams have none.
    /// </summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(100);

    /// <summary>How long a dataset upload (REST or gRPC) may run, conversion included; zero or less: no limit.</summary>
    public TimeSpan UploadRequestTimeout { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>Largest job-spec body (REST <c>POST /api/v1/jobs</c>, gRPC <c>SubmitJob.spec_json</c>), in bytes; larger is a 413 (RESOURCE_EXHAUSTED).</summary>
    public long MaxJobSpecBytes { get; set; } = 64 << 10;
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
        services.ConfigureHttpJsonOptions(json => ConfigureJson(json.SerializerOptions));
        // Swashbuckle describes types with MVC's JSON options; the same settings keep enums strings in the document too.
        services.Configure<Microsoft.AspNetCore.Mvc.JsonOptions>(json => ConfigureJson(json.JsonSerializerOptions));
        services.Configure<FormOptions>(f => f.MultipartBodyLengthLimit = options.MaxUploadBytes);
        services.Configure<Microsoft.AspNetCore.Server.Kestrel.Core.KestrelServerOptions>(k => k.Limits.MaxRequestBodySize = options.MaxUploadBytes);
        builder.AddApiKeys();
        services.AddEndpointsApiExplorer();
        services.AddSwaggerGen(swagger =>
        {
            swagger.SwaggerDoc("v1", new OpenApiInfo
            {
                Title = "Training service",
                Version = "v1",
                Description = "Upload datasets, train one low-rank network that can be cut to many sizes, read its rank-accuracy curve. "
                    + "Every call needs an API key in the `X-Api-Key` header (Authorize button).",
                // The repository grants no licence; say so rather than leave it to guesswork.
                License = new OpenApiLicense { Name = "Proprietary: no licence is granted", Url = new Uri("https://choosealicense.com/no-permission/") },
            });
            // Relative to the host that serves this document (the embedded default: http://localhost:5000).
            swagger.AddServer(new OpenApiServer { Url = "/", Description = "The host serving this document" });
            foreach (string xml in new[] { "Api.xml", "Domain.xml" }.Select(f => Path.Combine(AppContext.BaseDirectory, f)).Where(File.Exists))
            {
                swagger.IncludeXmlComments(xml);
            }
            swagger.DocumentFilter<Api.OpenApi.TagDescriptionsDocumentFilter>();
            swagger.OperationFilter<Api.OpenApi.OpenApiConventionsFilter>();
            swagger.SchemaFilter<Api.OpenApi.TypeDescriptionSchemaFilter>();
            swagger.SchemaFilter<Api.OpenApi.ClosedSetsFilter>();
            swagger.SchemaFilter<Api.OpenApi.ItemBoundsSchemaFilter>();
            swagger.SchemaFilter<Api.OpenApi.ResponseRequiredSchemaFilter>();
            swagger.SchemaFilter<Api.OpenApi.ProblemDetailsSchemaFilter>();
            // Nullable annotations decide `nullable`: a non-nullable string or list is never null on the wire.
            swagger.SupportNonNullableReferenceTypes();
            swagger.OperationFilter<Api.OpenApi.ClosedSetsFilter>();
            swagger.OperationFilter<Api.OpenApi.ParameterDescriptionsFilter>();
            swagger.OperationFilter<Api.OpenApi.DatasetUploadFormFilter>();
            swagger.AddSecurityDefinition(ApiKeyClaims.Scheme, new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.ApiKey,
                In = ParameterLocation.Header,
                Name = ApiKeyClaims.Header,
                Description = "An API key of your tenant; the embedded default prints one on first start and keeps it in data/api-key.txt.",
            });
            swagger.AddSecurityRequirement(document => new OpenApiSecurityRequirement
            {
                [new OpenApiSecuritySchemeReference(ApiKeyClaims.Scheme, document)] = [],
            });
        });
        services.AddRequestLimits(builder.Configuration);
        // One service per feature, called by its REST endpoints and its gRPC service alike.
        services.AddDatasets();
        services.AddScoped<JobService>();
        services.AddSingleton<SubmissionGate>();
        services.AddScoped<RunService>();
        services.AddScoped<VariantService>();
        services.AddScoped<VariantCatalog>();
        services.AddMemoryCache();
        services.AddSingleton<VariantPriceCache>();
        services.AddScoped<DeviceService>();
        services.AddScoped<WorkerService>();
        services.AddScoped<TenantService>();
        builder.AddGrpcApi();
        builder.AddServiceTelemetry("tas-api");
        builder.AddServiceHealthChecks();
        services.AddSingleton<JobGauges>();
        // grpc.health.v1.Health: the overall service ("") is serving when the readiness checks pass.
        services.AddGrpcHealthChecks(o => o.Services.Map("", r => r.Tags.Contains(HealthChecks.ReadyTag)));
        return builder;
    }

    private static void ConfigureJson(System.Text.Json.JsonSerializerOptions json)
    {
        json.Converters.Add(new JsonStringEnumConverter());
        json.DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull;
        json.TypeInfoResolverChain.Insert(0, Api.Common.ApiJsonContext.Default);
    }

    /// <summary>
    /// A service-admin key (header, or Basic password from a browser): the dashboard shows every tenant's jobs. In
    /// Development also any loopback request.
    /// </summary>
    private sealed class DashboardAuthorizationFilter(bool development) : IDashboardAuthorizationFilter
    {
        private readonly LocalRequestsOnlyAuthorizationFilter _local = new();

        public bool Authorize(DashboardContext context) =>
            context.GetHttpContext().User.IsInRole(nameof(ApiKeyRole.ServiceAdmin)) || (development && _local.Authorize(context));
    }

    public static WebApplication MapApi(this WebApplication app)
    {
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseAuthentication();
        app.UseBrowserPageProtection();
        app.UseSwagger();
        app.UseSwaggerUI();
        app.UseAuthorization();
        // After authentication: limits are per API key. Timeouts after routing, so endpoints can choose their policy.
        app.UseRateLimiter();
        app.UseRequestTimeouts();
        RouteGroupBuilder v1 = app.MapGroup("/api/v1");
        v1.MapTenantsApi();
        v1.MapDatasetsApi();
        v1.MapJobsApi();
        v1.MapRunsApi();
        app.MapGrpcApi();
        v1.MapVariantsApi();
        v1.MapDevicesApi();
        v1.MapWorkersApi();
        app.MapServiceHealthChecks();
        // The first probe paths, kept as aliases of /health/live and /health/ready.
        app.MapHealthChecks("/healthz", HealthChecks.Live).AllowAnonymous();
        app.MapHealthChecks("/healthz/ready", HealthChecks.Ready).AllowAnonymous();
        app.MapGrpcHealthChecksService().AllowAnonymous();
        app.MapMetrics();
        // Registers the fleet-wide job gauges with the meter (created on first resolve).
        app.Services.GetRequiredService<JobGauges>();
        ApiOptions options = app.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<ApiOptions>>().Value;
        app.UseHangfireDashboard("/hangfire", new DashboardOptions
        {
            Authorization = [new DashboardAuthorizationFilter(app.Environment.IsDevelopment())],
            IsReadOnlyFunc = _ => !options.DashboardWritable,
            DisplayStorageConnectionString = false,
        });
        return app;
    }
}

using System.Net;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Api.Grpc;

/// <summary>Section <c>Grpc</c>.</summary>
public sealed class GrpcOptions
{
    public const string SectionName = "Grpc";

    /// <summary>
    /// Port of the dedicated gRPC endpoint (HTTP/2 only, so h2c works without TLS), on the same interface as
    /// the first HTTP address. 0 adds none: gRPC is then reachable only over TLS on the HTTP endpoints
    /// (HTTP/1.1 and HTTP/2 negotiated by ALPN), or in-memory in tests.
    /// </summary>
    public int Port { get; set; } = 5001;

    /// <summary>How often WatchJob reads the job's progress from the database.</summary>
    public TimeSpan WatchPollInterval { get; set; } = TimeSpan.FromMilliseconds(500);
}

internal static class GrpcExtensions
{
    private const string DefaultUrl = "http://localhost:5000";

    public static IHostApplicationBuilder AddGrpcApi(this IHostApplicationBuilder builder)
    {
        IConfigurationSection section = builder.Configuration.GetSection(GrpcOptions.SectionName);
        builder.Services.Configure<GrpcOptions>(section);
        builder.Services.AddGrpc(grpc =>
        {
            grpc.Interceptors.Add<DomainExceptionInterceptor>();
            grpc.EnableDetailedErrors = builder.Environment.IsDevelopment();
        })
        // SubmitJob's spec_json is bounded by Api:MaxJobSpecBytes (checked by the service, naming the setting); the message
        // may carry 64 KiB more (idempotency key, framing) before gRPC itself refuses it unread.
        .AddServiceOptions<JobGrpcService>(o => o.MaxReceiveMessageSize =
            (int)Math.Min(int.MaxValue, (builder.Configuration.GetSection(Api.Extensions.ApiOptions.SectionName).Get<Api.Extensions.ApiOptions>() ?? new()).MaxJobSpecBytes + (64 << 10)));
        builder.Services.AddGrpcReflection();

        int port = (section.Get<GrpcOptions>() ?? new()).Port;
        if (port > 0)
        {
            IConfiguration configuration = builder.Configuration;
            builder.Services.Configure<KestrelServerOptions>(kestrel => ListenForRestAndGrpc(kestrel, configuration, port));
        }
        return builder;
    }

    public static WebApplication MapGrpcApi(this WebApplication app)
    {
        app.MapGrpcService<DatasetGrpcService>();
        app.MapGrpcService<JobGrpcService>();
        app.MapGrpcService<RunGrpcService>();
        app.MapGrpcService<VariantGrpcService>();
        app.MapGrpcService<DeviceGrpcService>();
        app.MapGrpcService<WorkerGrpcService>();
        app.MapGrpcReflectionService();
        return app;
    }

    /// <summary>
    /// Endpoints set in code replace <c>ASPNETCORE_URLS</c>/<c>--urls</c>/<c>ASPNETCORE_HTTP_PORTS</c>, so the
    /// HTTP addresses are bound again here (default http://localhost:5000), then the HTTP/2-only gRPC port.
    /// Endpoints from the <c>Kestrel:Endpoints</c> section are left to Kestrel.
    /// </summary>
    private static void ListenForRestAndGrpc(KestrelServerOptions kestrel, IConfiguration configuration, int grpcPort)
    {
        string[] urls = Split(configuration["urls"]);
        if (urls.Length == 0)
        {
            urls = [.. Split(configuration["http_ports"]).Select(p => $"http://*:{p}"), .. Split(configuration["https_ports"]).Select(p => $"https://*:{p}")];
        }
        bool configuredEndpoints = configuration.GetSection("Kestrel:Endpoints").GetChildren().Any();
        if (urls.Length == 0 && !configuredEndpoints)
        {
            urls = [DefaultUrl];
        }
        foreach (string url in urls)
        {
            BindingAddress address = BindingAddress.Parse(url);
            Listen(kestrel, address.Host, address.Port, listen =>
            {
                if (address.Scheme == "https")
                {
                    listen.UseHttps();
                }
            });
        }
        string grpcHost = urls.Length > 0 ? BindingAddress.Parse(urls[0]).Host : "localhost";
        Listen(kestrel, grpcHost, grpcPort, listen => listen.Protocols = HttpProtocols.Http2);
    }

    private static void Listen(KestrelServerOptions kestrel, string host, int port, Action<ListenOptions> configure)
    {
        if (string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase))
        {
            kestrel.ListenLocalhost(port, configure);
        }
        else if (IPAddress.TryParse(host.Trim('[', ']'), out IPAddress? ip))
        {
            kestrel.Listen(ip, port, configure);
        }
        else
        {
            // "*", "+" or a host name: every interface, as Kestrel treats them for URLs.
            kestrel.ListenAnyIP(port, configure);
        }
    }

    private static string[] Split(string? value) =>
        (value ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}

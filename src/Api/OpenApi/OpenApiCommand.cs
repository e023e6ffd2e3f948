using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.OpenApi;
using Swashbuckle.AspNetCore.Swagger;

namespace Api.OpenApi;

/// <summary>
/// <c>Api openapi [FILE]</c>: writes the OpenAPI document that <c>/swagger/v1/swagger.json</c> serves (to FILE, or to
/// standard output) without listening on a port, migrating or training; test.sh lints it with Redocly.
/// </summary>
internal static class OpenApiCommand
{
    public const string Name = "openapi";

    /// <summary>
    /// Replaces Kestrel with a server that listens nowhere: minimal-API endpoints reach the API explorer only when the
    /// application's pipeline is built, which happens when the host starts (Swashbuckle's CLI starts it the same way).
    /// </summary>
    public static void Configure(WebApplicationBuilder builder) => builder.Services.AddSingleton<IServer, NoServer>();

    public static async Task<int> RunAsync(WebApplication app, string[] args)
    {
        await app.StartAsync();
        string json = await DocumentJsonAsync(app.Services);
        await app.StopAsync();
        if (args.Length > 0)
        {
            await File.WriteAllTextAsync(args[0], json);
        }
        else
        {
            Console.WriteLine(json);
        }
        return 0;
    }

    /// <summary>The document as <c>/swagger/v1/swagger.json</c> serves it (OpenAPI 3.0), from a started application.</summary>
    public static Task<string> DocumentJsonAsync(IServiceProvider services) =>
        services.GetRequiredService<ISwaggerProvider>().GetSwagger("v1").SerializeAsJsonAsync(OpenApiSpecVersion.OpenApi3_0);

    private sealed class NoServer : IServer
    {
        public IFeatureCollection Features { get; } = new FeatureCollection();

        public Task StartAsync<TContext>(IHttpApplication<TContext> application, CancellationToken cancellationToken)
            where TContext : notnull => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public void Dispose()
        {
        }
    }
}

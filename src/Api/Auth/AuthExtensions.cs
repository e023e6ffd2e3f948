using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;

namespace Api.Auth;

internal static class AuthExtensions
{
    /// <summary>API keys: every endpoint needs one unless it allows anonymous access (health probes).</summary>
    public static IHostApplicationBuilder AddApiKeys(this IHostApplicationBuilder builder)
    {
        IServiceCollection services = builder.Services;
        services.Configure<AuthOptions>(builder.Configuration.GetSection(AuthOptions.SectionName));
        services.AddHttpContextAccessor();
        services.AddMemoryCache();
        services.AddSingleton<ApiKeyVerifier>();
        services.AddScoped<ITenantScope, HttpTenantScope>();
        services.AddScoped<CurrentTenant>();
        services.AddScoped<ApiKeyBootstrap>();
        services.AddAuthentication(ApiKeyClaims.Scheme)
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyClaims.Scheme, null);
        // The key scheme is the only and the default one, so UseAuthentication has already set the user: policies name
        // no scheme, which would make the authorization middleware authenticate every request a second time.
        services.AddAuthorizationBuilder()
            .SetFallbackPolicy(new AuthorizationPolicyBuilder().RequireAuthenticatedUser().Build())
            .AddPolicy(ApiKeyClaims.TenantAdminPolicy, p => p.RequireRole(nameof(ApiKeyRole.TenantAdmin), nameof(ApiKeyRole.ServiceAdmin)))
            .AddPolicy(ApiKeyClaims.ServiceAdminPolicy, p => p.RequireRole(nameof(ApiKeyRole.ServiceAdmin)));
        return builder;
    }

    /// <summary>
    /// Swagger UI and the OpenAPI document need a key outside Development (a browser is asked for it as a
    /// Basic password); in Development they are open to loopback requests only, and other hosts get 404.
    /// The Hangfire dashboard checks for a service-admin key itself.
    /// </summary>
    public static IApplicationBuilder UseBrowserPageProtection(this WebApplication app)
    {
        bool development = app.Environment.IsDevelopment();
        return app.Use(async (context, next) =>
        {
            if (context.Request.Path.StartsWithSegments("/swagger"))
            {
                if (development && !IsLoopback(context))
                {
                    // A Development host is not meant to be reachable from elsewhere: do not even show it has Swagger.
                    context.Response.StatusCode = StatusCodes.Status404NotFound;
                    return;
                }
                if (!development && context.User.Identity?.IsAuthenticated != true)
                {
                    await context.ChallengeAsync(ApiKeyClaims.Scheme);
                    return;
                }
            }
            if (context.Request.Path.StartsWithSegments("/hangfire") && context.User.Identity?.IsAuthenticated != true
                && !(development && IsLoopback(context)))
            {
                // Hangfire answers 401 without a challenge; ask the browser for the key instead.
                await context.ChallengeAsync(ApiKeyClaims.Scheme);
                return;
            }
            await next(context);
        });
    }

    private static bool IsLoopback(HttpContext context) =>
        context.Connection.RemoteIpAddress is { } ip && System.Net.IPAddress.IsLoopback(ip);

    /// <summary>Stores the bootstrap key or creates the local one; see <see cref="ApiKeyBootstrap"/>.</summary>
    public static async Task BootstrapApiKeysAsync(this IServiceProvider services, CancellationToken cancellationToken = default)
    {
        await using AsyncServiceScope scope = services.CreateAsyncScope();
        await scope.ServiceProvider.GetRequiredService<ApiKeyBootstrap>().RunAsync(cancellationToken);
    }
}

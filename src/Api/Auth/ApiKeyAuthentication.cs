using System.Net.Http.Headers;
using System.Security.Claims;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;

namespace Api.Auth;

/// <summary>Claims of an authenticated API key.</summary>
public static class ApiKeyClaims
{
    public const string Scheme = "ApiKey";
    public const string Header = "X-Api-Key";
    public const string TenantId = "tenant_id";
    public const string TenantName = "tenant_name";
    public const string KeyId = "key_id";

    /// <summary>Tenant admins and service admins: the keys of their own tenant (service admins: of every tenant), and the workers.</summary>
    public const string TenantAdminPolicy = "TenantAdmin";

    /// <summary>Service admins only: tenants, every tenant's keys, the Hangfire dashboard.</summary>
    public const string ServiceAdminPolicy = "ServiceAdmin";

    public static Guid? Tenant(this ClaimsPrincipal user) =>
        Guid.TryParse(user.FindFirstValue(TenantId), out Guid id) ? id : null;

    /// <summary>The key's role, from its <see cref="ClaimTypes.Role"/> claim (one per key; none for members).</summary>
    public static ApiKeyRole Role(this ClaimsPrincipal user) =>
        Enum.TryParse(user.FindFirstValue(ClaimTypes.Role), out ApiKeyRole role) ? role : ApiKeyRole.Member;
}

/// <summary>A verified key: what a request may act as.</summary>
public sealed record ApiKeyIdentity(Guid KeyId, string KeyName, Guid TenantId, string TenantName, ApiKeyRole Role);

/// <summary>
/// Looks keys up by their hash, remembering verified ones for <see cref="AuthOptions.KeyCacheDuration"/>.
/// A lookup that began before a revocation in this process is answered but not remembered, so a check racing
/// the revocation cannot put the revoked key back into the cache.
/// </summary>
public sealed class ApiKeyVerifier(IServiceScopeFactory scopes, IMemoryCache cache, IOptions<AuthOptions> options)
{
    private readonly Lock _gate = new();

    /// <summary>Incremented by every <see cref="Forget"/>; a lookup caches its result only if it is unchanged.</summary>
    private long _revocations;

    /// <summary>Test seam: awaited with the key's hash between the database lookup and caching its result.</summary>
    internal Func<string, Task>? AfterLookup { get; set; }

    public async Task<ApiKeyIdentity?> VerifyAsync(string secret, CancellationToken cancellationToken)
    {
        string hash = ApiKey.HashOf(secret);
        string cacheKey = CacheKey(hash);
        if (cache.TryGetValue(cacheKey, out ApiKeyIdentity? known))
        {
            return known;
        }
        long revocations = Volatile.Read(ref _revocations);
        await using AsyncServiceScope scope = scopes.CreateAsyncScope();
        AppDbContext db = scope.ServiceProvider.GetRequiredService<AppDbContext>();
        ApiKeyIdentity? identity = await (
            from k in db.ApiKeys.AsNoTracking()
            join t in db.Tenants.AsNoTracking() on k.TenantId equals t.Id
            where k.Hash == hash && k.RevokedAt == null
            select new ApiKeyIdentity(k.Id, k.Name, t.Id, t.Name, k.Role)).SingleOrDefaultAsync(cancellationToken);
        if (AfterLookup is { } hook)
        {
            await hook(hash);
        }
        lock (_gate)
        {
            // A revocation committed after this lookup began: what was read may be stale, so it is not remembered.
            if (_revocations == revocations)
            {
                // Unknown keys are remembered briefly too, so a flood of bad keys does not reach the database each time.
                cache.Set(cacheKey, identity, identity is null ? TimeSpan.FromSeconds(2) : options.Value.KeyCacheDuration);
            }
        }
        return identity;
    }

    /// <summary>Forgets a key in this process; call it after the revocation is committed.</summary>
    public void Forget(string hash)
    {
        lock (_gate)
        {
            _revocations++;
            cache.Remove(CacheKey(hash));
        }
    }

    private static string CacheKey(string hash) => "api-key:" + hash;
}

/// <summary>
/// Authenticates the <c>X-Api-Key</c> header (gRPC: the <c>x-api-key</c> metadata). The browser pages
/// (<c>/swagger</c>, <c>/hangfire</c>) also take the key as the password of HTTP Basic authentication, so a
/// browser can open them; their challenge asks for it.
/// </summary>
internal sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, ApiKeyVerifier verifier)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        string? secret = Request.Headers[ApiKeyClaims.Header].FirstOrDefault();
        if (string.IsNullOrEmpty(secret) && IsBrowserPage(Request.Path))
        {
            secret = BasicPassword(Request.Headers.Authorization.FirstOrDefault());
        }
        if (string.IsNullOrEmpty(secret))
        {
            return AuthenticateResult.NoResult();
        }
        ApiKeyIdentity? identity = await verifier.VerifyAsync(secret, Context.RequestAborted);
        if (identity is null)
        {
            return AuthenticateResult.Fail("The API key is unknown or revoked.");
        }
        var claims = new List<Claim>
        {
            new(ClaimTypes.Name, identity.KeyName),
            new(ApiKeyClaims.KeyId, identity.KeyId.ToString()),
            new(ApiKeyClaims.TenantId, identity.TenantId.ToString()),
            new(ApiKeyClaims.TenantName, identity.TenantName),
        };
        if (identity.Role != ApiKeyRole.Member)
        {
            claims.Add(new Claim(ClaimTypes.Role, identity.Role.ToString()));
        }
        var principal = new ClaimsPrincipal(new ClaimsIdentity(claims, ApiKeyClaims.Scheme));
        return AuthenticateResult.Success(new AuthenticationTicket(principal, ApiKeyClaims.Scheme));
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        bool sent = Request.Headers.ContainsKey(ApiKeyClaims.Header);
        string detail = sent
            ? "The API key is unknown or revoked."
            : $"Send an API key in the {ApiKeyClaims.Header} header.";
        if (IsGrpc(Request))
        {
            return WriteGrpcStatusAsync(Response, 16, detail);
        }
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        Response.Headers.WWWAuthenticate = IsBrowserPage(Request.Path)
            ? "Basic realm=\"training-service (any user name, the API key as password)\", charset=\"UTF-8\""
            : $"ApiKey header=\"{ApiKeyClaims.Header}\"";
        return Results.Problem(statusCode: StatusCodes.Status401Unauthorized, title: "Unauthenticated.", detail: detail)
            .ExecuteAsync(Context);
    }

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties)
    {
        const string detail = "This key's role does not allow this operation (see GET /api/v1/me for the key's role).";
        if (IsGrpc(Request))
        {
            return WriteGrpcStatusAsync(Response, 7, detail);
        }
        return Results.Problem(statusCode: StatusCodes.Status403Forbidden, title: "Forbidden.", detail: detail).ExecuteAsync(Context);
    }

    public static bool IsBrowserPage(PathString path) =>
        path.StartsWithSegments("/swagger") || path.StartsWithSegments("/hangfire");

    private static bool IsGrpc(HttpRequest request) =>
        request.ContentType?.StartsWith("application/grpc", StringComparison.OrdinalIgnoreCase) == true;

    /// <summary>A trailers-only gRPC response, so clients see the status code and message (not a bare HTTP 401).</summary>
    private static Task WriteGrpcStatusAsync(HttpResponse response, int status, string message)
    {
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "application/grpc";
        response.Headers["grpc-status"] = status.ToString(System.Globalization.CultureInfo.InvariantCulture);
        response.Headers["grpc-message"] = Uri.EscapeDataString(message);
        return Task.CompletedTask;
    }

    private static string? BasicPassword(string? authorization)
    {
        if (!AuthenticationHeaderValue.TryParse(authorization, out AuthenticationHeaderValue? header)
            || !string.Equals(header.Scheme, "Basic", StringComparison.OrdinalIgnoreCase) || header.Parameter is null)
        {
            return null;
        }
        try
        {
            string decoded = Encoding.UTF8.GetString(Convert.FromBase64String(header.Parameter));
            int colon = decoded.IndexOf(':', StringComparison.Ordinal);
            return colon < 0 ? null : decoded[(colon + 1)..];
        }
        catch (FormatException)
        {
            return null;
        }
    }
}

/// <summary>The request's tenant, from its key. Requests without a key see no tenant's rows.</summary>
internal sealed class HttpTenantScope(IHttpContextAccessor http) : ITenantScope
{
    public Guid? TenantId => http.HttpContext is { } context
        ? context.User.Tenant() ?? Guid.Empty
        : null;
}

/// <summary>The tenant of the current request, for handlers that create tenant-owned rows.</summary>
public sealed class CurrentTenant(IHttpContextAccessor http)
{
    public Guid Id => http.HttpContext?.User.Tenant()
        ?? throw new InvalidOperationException("No authenticated tenant in this request.");
}

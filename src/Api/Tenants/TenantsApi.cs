using System.ComponentModel.DataAnnotations;
using System.Security.Claims;
using Api.Auth;

namespace Api.Tenants;

/// <summary>A tenant: the owner of datasets, jobs, devices and keys.</summary>
/// <param name="Id">The tenant's id.</param>
/// <param name="Name">Its name (a slug).</param>
/// <param name="CreatedAt">When it was created (UTC).</param>
/// <param name="Keys">Its API keys that are not revoked.</param>
public sealed record TenantResponse(Guid Id, string Name, DateTime CreatedAt, int Keys);

/// <summary>A tenant to create.</summary>
/// <param name="Name">Required: 1..64 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit; unique.</param>
public sealed record CreateTenantRequest([property: StringLength(Tenant.MaxNameLength, MinimumLength = 1)] string? Name);

/// <summary>An API key without its secret.</summary>
/// <param name="Id">The key's id.</param>
/// <param name="TenantId">The tenant it acts for.</param>
/// <param name="Name">What it is for, e.g. <c>ci</c>.</param>
/// <param name="Prefix">The first characters of the secret, to recognise it.</param>
/// <param name="Role">What it may manage: <c>Member</c> nothing, <c>TenantAdmin</c> its own tenant's keys, <c>ServiceAdmin</c> tenants and every tenant's keys.</param>
/// <param name="IsAdmin">Deprecated, use <c>role</c>: true for <c>TenantAdmin</c> and <c>ServiceAdmin</c>.</param>
/// <param name="CreatedAt">When it was created (UTC).</param>
/// <param name="RevokedAt">When it was revoked (UTC); absent while it is valid.</param>
public sealed record ApiKeyResponse(
    Guid Id, Guid TenantId, string Name, string Prefix, ApiKeyRole Role, [property: Obsolete("Use Role.")] bool IsAdmin, DateTime CreatedAt,
    DateTime? RevokedAt)
{
    public static ApiKeyResponse From(ApiKey k) =>
        new(k.Id, k.TenantId, k.Name, k.Prefix, k.Role, k.Role != ApiKeyRole.Member, k.CreatedAt, k.RevokedAt);
}

/// <summary>A new key: <see cref="Key"/> is shown only in this response; the service keeps its hash.</summary>
/// <param name="Id">The key's id.</param>
/// <param name="TenantId">The tenant it acts for.</param>
/// <param name="Name">What it is for.</param>
/// <param name="Prefix">The first characters of the secret.</param>
/// <param name="Role">What it may manage (see <c>ApiKeyResponse.role</c>).</param>
/// <param name="IsAdmin">Deprecated, use <c>role</c>: true for <c>TenantAdmin</c> and <c>ServiceAdmin</c>.</param>
/// <param name="CreatedAt">When it was created (UTC).</param>
/// <param name="Key">The secret to send in <c>X-Api-Key</c>; shown only now.</param>
public sealed record CreatedApiKeyResponse(
    Guid Id, Guid TenantId, string Name, string Prefix, ApiKeyRole Role, [property: Obsolete("Use Role.")] bool IsAdmin, DateTime CreatedAt, string Key);

/// <summary>A key to create.</summary>
/// <param name="Name">Required: what the key is for, 1..100 characters.</param>
/// <param name="Role">
/// Default <c>Member</c>. A tenant admin may create <c>Member</c> and <c>TenantAdmin</c> keys of its own tenant; only a
/// service admin creates <c>ServiceAdmin</c> keys (others get 403).
/// </param>
/// <param name="IsAdmin">Deprecated, use <c>role</c>: <c>true</c> without a role means <c>TenantAdmin</c>; it must agree with <c>role</c> when both are sent.</param>
public sealed record CreateApiKeyRequest(
    [property: StringLength(ApiKey.MaxNameLength, MinimumLength = 1)] string? Name,
    ApiKeyRole? Role = null,
    [property: Obsolete("Use Role.")] bool? IsAdmin = null);

/// <summary>The tenant and key a request authenticates as.</summary>
/// <param name="TenantId">The tenant's id.</param>
/// <param name="TenantName">The tenant's name.</param>
/// <param name="KeyId">The key's id.</param>
/// <param name="KeyName">The key's name.</param>
/// <param name="Role">The key's role.</param>
/// <param name="IsAdmin">Deprecated, use <c>role</c>: true for <c>TenantAdmin</c> and <c>ServiceAdmin</c>.</param>
public sealed record WhoAmIResponse(
    Guid TenantId, string TenantName, Guid KeyId, string KeyName, ApiKeyRole Role, [property: Obsolete("Use Role.")] bool IsAdmin);

/// <summary>
/// Tenants (service admins) and API keys (service admins: of any tenant; tenant admins: of their own tenant), and
/// <c>GET /me</c> for any key. A tenant admin asking about another tenant gets 404, as for any other tenant's resource.
/// </summary>
public static class TenantsApi
{
    public static RouteGroupBuilder MapTenantsApi(this RouteGroupBuilder api)
    {
        api.MapGet("/me", WhoAmI).WithTags("Tenants").WithName("WhoAmI").WithSummary("The tenant, key and role this request authenticates as");

        RouteGroupBuilder group = api.MapGroup("/tenants").WithTags("Tenants").ProducesProblem(StatusCodes.Status403Forbidden);
        group.MapGet("/", ListAsync).WithName("ListTenants").WithSummary("List tenants (service admin)")
            .RequireAuthorization(ApiKeyClaims.ServiceAdminPolicy);
        group.MapPost("/", CreateAsync).WithName("CreateTenant").WithSummary("Create a tenant (service admin)")
            .RequireAuthorization(ApiKeyClaims.ServiceAdminPolicy)
            .ProducesValidationProblem().ProducesProblem(StatusCodes.Status409Conflict);
        group.MapGet("/{id:guid}/keys", ListKeysAsync).WithName("ListApiKeys")
            .WithSummary("List a tenant's API keys, without their secrets (service admin, or tenant admin of that tenant)")
            .RequireAuthorization(ApiKeyClaims.TenantAdminPolicy).ProducesProblem(StatusCodes.Status404NotFound);
        group.MapPost("/{id:guid}/keys", CreateKeyAsync).WithName("CreateApiKey")
            .WithSummary("Create an API key for a tenant (service admin, or tenant admin of that tenant); the key is shown once, in this response")
            .RequireAuthorization(ApiKeyClaims.TenantAdminPolicy)
            .ProducesValidationProblem().ProducesProblem(StatusCodes.Status404NotFound);
        group.MapDelete("/{id:guid}/keys/{keyId:guid}", RevokeKeyAsync).WithName("RevokeApiKey")
            .WithSummary("Revoke an API key (service admin, or tenant admin of that tenant); other Api replicas stop accepting it within Auth:KeyCacheDuration")
            .RequireAuthorization(ApiKeyClaims.TenantAdminPolicy)
            .ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
        return group;
    }

    public static Ok<WhoAmIResponse> WhoAmI(ClaimsPrincipal user) => TypedResults.Ok(TenantService.WhoAmI(user));

    public static async Task<Ok<List<TenantResponse>>> ListAsync(TenantService tenants, CancellationToken cancellationToken) =>
        TypedResults.Ok(await tenants.ListAsync(cancellationToken));

    public static async Task<Created<TenantResponse>> CreateAsync(
        CreateTenantRequest request, TenantService tenants, CancellationToken cancellationToken)
    {
        TenantResponse tenant = await tenants.CreateAsync(request, cancellationToken);
        return TypedResults.Created($"/api/v1/tenants/{tenant.Id}/keys", tenant);
    }

    public static async Task<Ok<List<ApiKeyResponse>>> ListKeysAsync(Guid id, ClaimsPrincipal user, TenantService tenants, CancellationToken cancellationToken) =>
        TypedResults.Ok(await tenants.ListKeysAsync(id, user, cancellationToken));

    public static async Task<Results<Created<CreatedApiKeyResponse>, ProblemHttpResult>> CreateKeyAsync(
        Guid id, CreateApiKeyRequest request, ClaimsPrincipal user, TenantService tenants, CancellationToken cancellationToken)
    {
        KeyOutcome<CreatedApiKeyResponse> outcome = await tenants.CreateKeyAsync(id, request, user, cancellationToken);
        if (outcome.Result is { } key)
        {
            return TypedResults.Created($"/api/v1/tenants/{id}/keys", key);
        }
        return Forbidden(outcome.Forbidden!);
    }

    public static async Task<Results<NoContent, ProblemHttpResult>> RevokeKeyAsync(
        Guid id, Guid keyId, ClaimsPrincipal user, TenantService tenants, CancellationToken cancellationToken)
    {
        KeyOutcome<ApiKeyResponse> outcome = await tenants.RevokeKeyAsync(id, keyId, user, cancellationToken);
        if (outcome.Result is not null)
        {
            return TypedResults.NoContent();
        }
        return Forbidden(outcome.Forbidden!);
    }

    private static ProblemHttpResult Forbidden(string detail) =>
        TypedResults.Problem(statusCode: StatusCodes.Status403Forbidden, title: "Forbidden.", detail: detail);
}

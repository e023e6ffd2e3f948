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

    public static Ok<WhoAmIResponse> WhoAmI(ClaimsPrincipal user) => TypedResults.Ok(new WhoAmIResponse(
        user.Tenant()!.Value, user.FindFirstValue(ApiKeyClaims.TenantName)!, Guid.Parse(user.FindFirstValue(ApiKeyClaims.KeyId)!),
        user.Identity!.Name!, user.Role(), user.Role() != ApiKeyRole.Member));

    public static async Task<Ok<List<TenantResponse>>> ListAsync(AppDbContext db, CancellationToken cancellationToken) =>
        TypedResults.Ok(await db.Tenants.AsNoTracking().OrderBy(t => t.Name)
            .Select(t => new TenantResponse(t.Id, t.Name, t.CreatedAt, db.ApiKeys.Count(k => k.TenantId == t.Id && k.RevokedAt == null)))
            .ToListAsync(cancellationToken));

    public static async Task<Created<TenantResponse>> CreateAsync(
        CreateTenantRequest request, AppDbContext db, TimeProvider clock, CancellationToken cancellationToken)
    {
        var rules = new Rules();
        Tenant.ValidateName(rules, "name", request.Name);
        rules.ThrowIfInvalid();
        if (await db.Tenants.AnyAsync(t => t.Name == request.Name, cancellationToken))
        {
            throw new ConflictException($"A tenant named '{request.Name}' already exists.");
        }
        var tenant = new Tenant { Id = Guid.CreateVersion7(), Name = request.Name!, CreatedAt = clock.GetUtcNow().UtcDateTime };
        db.Tenants.Add(tenant);
        try
        {
            await db.SaveChangesAsync(cancellationToken);
        }
        catch (DbUpdateException)
        {
            throw new ConflictException($"A tenant named '{request.Name}' already exists.");
        }
        return TypedResults.Created($"/api/v1/tenants/{tenant.Id}/keys", new TenantResponse(tenant.Id, tenant.Name, tenant.CreatedAt, 0));
    }

    public static async Task<Ok<List<ApiKeyResponse>>> ListKeysAsync(Guid id, ClaimsPrincipal user, AppDbContext db, CancellationToken cancellationToken)
    {
        await RequireManagedTenantAsync(user, db, id, cancellationToken);
        List<ApiKey> keys = await db.ApiKeys.AsNoTracking().Where(k => k.TenantId == id).OrderBy(k => k.CreatedAt).ThenBy(k => k.Id)
            .ToListAsync(cancellationToken);
        return TypedResults.Ok(keys.Select(ApiKeyResponse.From).ToList());
    }

    public static async Task<Results<Created<CreatedApiKeyResponse>, ProblemHttpResult>> CreateKeyAsync(
        Guid id, CreateApiKeyRequest request, ClaimsPrincipal user, AppDbContext db, TimeProvider clock, CancellationToken cancellationToken)
    {
        var rules = new Rules();
        if (string.IsNullOrWhiteSpace(request.Name))
        {
            rules.Add("name", "is required (what the key is for, e.g. 'ci').");
        }
        else if (request.Name.Length > ApiKey.MaxNameLength)
        {
            rules.Add("name", $"must be at most {ApiKey.MaxNameLength} characters.");
        }
#pragma warning disable CS0618 // IsAdmin: the deprecated alias of Role, still accepted.
        bool? isAdmin = request.IsAdmin;
#pragma warning restore CS0618
        if (request.Role is { } asked && isAdmin is { } legacy && legacy != (asked != ApiKeyRole.Member))
        {
            rules.Add("isAdmin", $"contradicts role '{asked}'; isAdmin is deprecated, send only role.");
        }
        rules.ThrowIfInvalid();
        await RequireManagedTenantAsync(user, db, id, cancellationToken);
        ApiKeyRole role = request.Role ?? (isAdmin == true ? ApiKeyRole.TenantAdmin : ApiKeyRole.Member);
        if (role > user.Role())
        {
            return Forbidden($"A {user.Role()} key cannot create a {role} key.");
        }
        string secret = ApiKey.NewSecret();
        ApiKey key = ApiKey.Create(id, request.Name!.Trim(), secret, role, clock.GetUtcNow().UtcDateTime);
        db.ApiKeys.Add(key);
        await db.SaveChangesAsync(cancellationToken);
        return TypedResults.Created($"/api/v1/tenants/{id}/keys",
            new CreatedApiKeyResponse(key.Id, key.TenantId, key.Name, key.Prefix, key.Role, key.Role != ApiKeyRole.Member, key.CreatedAt, secret));
    }

    public static async Task<Results<NoContent, ProblemHttpResult>> RevokeKeyAsync(
        Guid id, Guid keyId, ClaimsPrincipal user, AppDbContext db, ApiKeyVerifier verifier, TimeProvider clock, CancellationToken cancellationToken)
    {
        await RequireManagedTenantAsync(user, db, id, cancellationToken);
        ApiKey key = await db.ApiKeys.SingleOrDefaultAsync(k => k.Id == keyId && k.TenantId == id, cancellationToken)
            ?? throw new NotFoundException("API key", keyId);
        if (user.FindFirstValue(ApiKeyClaims.KeyId) == keyId.ToString())
        {
            throw new ConflictException("A key cannot revoke itself; use another admin key.");
        }
        if (key.Role > user.Role())
        {
            return Forbidden($"A {user.Role()} key cannot revoke a {key.Role} key.");
        }
        if (key.RevokedAt is null)
        {
            key.RevokedAt = clock.GetUtcNow().UtcDateTime;
            await db.SaveChangesAsync(cancellationToken);
        }
        verifier.Forget(key.Hash);
        return TypedResults.NoContent();
    }

    /// <summary>
    /// The tenant must exist and the caller must manage it: a service admin manages every tenant, a tenant admin only
    /// its own (another tenant answers 404, as every other tenant's resource does).
    /// </summary>
    private static async Task RequireManagedTenantAsync(ClaimsPrincipal user, AppDbContext db, Guid id, CancellationToken cancellationToken)
    {
        if (user.Role() != ApiKeyRole.ServiceAdmin && user.Tenant() != id)
        {
            throw new NotFoundException("Tenant", id);
        }
        await RequireTenantAsync(db, id, cancellationToken);
    }

    private static ProblemHttpResult Forbidden(string detail) =>
        TypedResults.Problem(statusCode: StatusCodes.Status403Forbidden, title: "Forbidden.", detail: detail);

    private static async Task RequireTenantAsync(AppDbContext db, Guid id, CancellationToken cancellationToken)
    {
        if (!await db.Tenants.AnyAsync(t => t.Id == id, cancellationToken))
        {
            throw new NotFoundException("Tenant", id);
        }
    }
}

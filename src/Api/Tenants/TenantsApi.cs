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
/// <param name="IsAdmin">Whether it may manage tenants, keys and see workers.</param>
/// <param name="CreatedAt">When it was created (UTC).</param>
/// <param name="RevokedAt">When it was revoked (UTC); absent while it is valid.</param>
public sealed record ApiKeyResponse(Guid Id, Guid TenantId, string Name, string Prefix, bool IsAdmin, DateTime CreatedAt, DateTime? RevokedAt)
{
    public static ApiKeyResponse From(ApiKey k) => new(k.Id, k.TenantId, k.Name, k.Prefix, k.IsAdmin, k.CreatedAt, k.RevokedAt);
}

/// <summary>A new key: <see cref="Key"/> is shown only in this response; the service keeps its hash.</summary>
/// <param name="Id">The key's id.</param>
/// <param name="TenantId">The tenant it acts for.</param>
/// <param name="Name">What it is for.</param>
/// <param name="Prefix">The first characters of the secret.</param>
/// <param name="IsAdmin">Whether it is an admin key.</param>
/// <param name="CreatedAt">When it was created (UTC).</param>
/// <param name="Key">The secret to send in <c>X-Api-Key</c>; shown only now.</param>
public sealed record CreatedApiKeyResponse(Guid Id, Guid TenantId, string Name, string Prefix, bool IsAdmin, DateTime CreatedAt, string Key);

/// <summary>A key to create.</summary>
/// <param name="Name">Required: what the key is for, 1..100 characters.</param>
/// <param name="IsAdmin">Make it an admin key (default false).</param>
public sealed record CreateApiKeyRequest([property: StringLength(ApiKey.MaxNameLength, MinimumLength = 1)] string? Name, bool IsAdmin = false);

/// <summary>The tenant and key a request authenticates as.</summary>
/// <param name="TenantId">The tenant's id.</param>
/// <param name="TenantName">The tenant's name.</param>
/// <param name="KeyId">The key's id.</param>
/// <param name="KeyName">The key's name.</param>
/// <param name="IsAdmin">Whether it is an admin key.</param>
public sealed record WhoAmIResponse(Guid TenantId, string TenantName, Guid KeyId, string KeyName, bool IsAdmin);

/// <summary>Tenants and API keys (admin keys only), and <c>GET /me</c> for any key.</summary>
public static class TenantsApi
{
    public static RouteGroupBuilder MapTenantsApi(this RouteGroupBuilder api)
    {
        api.MapGet("/me", WhoAmI).WithTags("Tenants").WithName("WhoAmI").WithSummary("The tenant and key this request authenticates as");

        RouteGroupBuilder group = api.MapGroup("/tenants").WithTags("Tenants").RequireAuthorization(ApiKeyClaims.AdminPolicy)
            .ProducesProblem(StatusCodes.Status403Forbidden);
        group.MapGet("/", ListAsync).WithName("ListTenants").WithSummary("List tenants (admin)");
        group.MapPost("/", CreateAsync).WithName("CreateTenant").WithSummary("Create a tenant (admin)")
            .ProducesValidationProblem().ProducesProblem(StatusCodes.Status409Conflict);
        group.MapGet("/{id:guid}/keys", ListKeysAsync).WithName("ListApiKeys")
            .WithSummary("List a tenant's API keys, without their secrets (admin)").ProducesProblem(StatusCodes.Status404NotFound);
        group.MapPost("/{id:guid}/keys", CreateKeyAsync).WithName("CreateApiKey")
            .WithSummary("Create an API key for a tenant (admin); the key is shown once, in this response")
            .ProducesValidationProblem().ProducesProblem(StatusCodes.Status404NotFound);
        group.MapDelete("/{id:guid}/keys/{keyId:guid}", RevokeKeyAsync).WithName("RevokeApiKey")
            .WithSummary("Revoke an API key (admin); other Api replicas stop accepting it within Auth:KeyCacheDuration")
            .ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
        return group;
    }

    public static Ok<WhoAmIResponse> WhoAmI(ClaimsPrincipal user) => TypedResults.Ok(new WhoAmIResponse(
        user.Tenant()!.Value, user.FindFirstValue(ApiKeyClaims.TenantName)!, Guid.Parse(user.FindFirstValue(ApiKeyClaims.KeyId)!),
        user.Identity!.Name!, user.IsInRole(ApiKeyClaims.AdminRole)));

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

    public static async Task<Ok<List<ApiKeyResponse>>> ListKeysAsync(Guid id, AppDbContext db, CancellationToken cancellationToken)
    {
        await RequireTenantAsync(db, id, cancellationToken);
        List<ApiKey> keys = await db.ApiKeys.AsNoTracking().Where(k => k.TenantId == id).OrderBy(k => k.CreatedAt).ThenBy(k => k.Id)
            .ToListAsync(cancellationToken);
        return TypedResults.Ok(keys.Select(ApiKeyResponse.From).ToList());
    }

    public static async Task<Created<CreatedApiKeyResponse>> CreateKeyAsync(
        Guid id, CreateApiKeyRequest request, AppDbContext db, TimeProvider clock, CancellationToken cancellationToken)
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
        rules.ThrowIfInvalid();
        await RequireTenantAsync(db, id, cancellationToken);
        string secret = ApiKey.NewSecret();
        ApiKey key = ApiKey.Create(id, request.Name!.Trim(), secret, request.IsAdmin, clock.GetUtcNow().UtcDateTime);
        db.ApiKeys.Add(key);
        await db.SaveChangesAsync(cancellationToken);
        return TypedResults.Created($"/api/v1/tenants/{id}/keys",
            new CreatedApiKeyResponse(key.Id, key.TenantId, key.Name, key.Prefix, key.IsAdmin, key.CreatedAt, secret));
    }

    public static async Task<NoContent> RevokeKeyAsync(
        Guid id, Guid keyId, ClaimsPrincipal user, AppDbContext db, ApiKeyVerifier verifier, TimeProvider clock, CancellationToken cancellationToken)
    {
        ApiKey key = await db.ApiKeys.SingleOrDefaultAsync(k => k.Id == keyId && k.TenantId == id, cancellationToken)
            ?? throw new NotFoundException("API key", keyId);
        if (user.FindFirstValue(ApiKeyClaims.KeyId) == keyId.ToString())
        {
            throw new ConflictException("A key cannot revoke itself; use another admin key.");
        }
        if (key.RevokedAt is null)
        {
            key.RevokedAt = clock.GetUtcNow().UtcDateTime;
            await db.SaveChangesAsync(cancellationToken);
        }
        verifier.Forget(key.Hash);
        return TypedResults.NoContent();
    }

    private static async Task RequireTenantAsync(AppDbContext db, Guid id, CancellationToken cancellationToken)
    {
        if (!await db.Tenants.AnyAsync(t => t.Id == id, cancellationToken))
        {
            throw new NotFoundException("Tenant", id);
        }
    }
}

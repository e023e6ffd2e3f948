using System.Security.Claims;
using Api.Auth;

namespace Api.Tenants;

/// <summary>
/// The outcome of a key command: its <see cref="Result"/>, or, when the caller's role is below the key's,
/// <see cref="Forbidden"/>: the detail REST answers with 403.
/// </summary>
public readonly record struct KeyOutcome<T>(T? Result, string? Forbidden) where T : class;

/// <summary>
/// Tenants and their API keys for <see cref="TenantsApi"/>: listing and creating tenants (service admins), listing,
/// minting and revoking keys (service admins: of any tenant; tenant admins: of their own tenant), and who a request
/// authenticates as. Failures are exceptions (<see cref="DomainValidationException"/>, <see cref="NotFoundException"/>,
/// <see cref="ConflictException"/>); a role too low for a key is a <see cref="KeyOutcome{T}"/> with its reason.
/// </summary>
public sealed class TenantService(AppDbContext db, ApiKeyVerifier verifier, TimeProvider clock)
{
    public static WhoAmIResponse WhoAmI(ClaimsPrincipal user) => new(
        user.Tenant()!.Value, user.FindFirstValue(ApiKeyClaims.TenantName)!, Guid.Parse(user.FindFirstValue(ApiKeyClaims.KeyId)!),
        user.Identity!.Name!, user.Role(), user.Role() != ApiKeyRole.Member);

    public async Task<List<TenantResponse>> ListAsync(CancellationToken cancellationToken) =>
        await db.Tenants.AsNoTracking().OrderBy(t => t.Name)
            .Select(t => new TenantResponse(t.Id, t.Name, t.CreatedAt, db.ApiKeys.Count(k => k.TenantId == t.Id && k.RevokedAt == null)))
            .ToListAsync(cancellationToken);

    public async Task<TenantResponse> CreateAsync(CreateTenantRequest request, CancellationToken cancellationToken)
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
        catch (DbUpdateException ex) when (UniqueViolations.Involves(ex, nameof(Tenant.Name)))
        {
            // A concurrent request created it first; any other failure (e.g. the database is down) is not a conflict.
            throw new ConflictException($"A tenant named '{request.Name}' already exists.");
        }
        return new TenantResponse(tenant.Id, tenant.Name, tenant.CreatedAt, 0);
    }

    public async Task<List<ApiKeyResponse>> ListKeysAsync(Guid id, ClaimsPrincipal user, CancellationToken cancellationToken)
    {
        await RequireManagedTenantAsync(user, id, cancellationToken);
        List<ApiKey> keys = await db.ApiKeys.AsNoTracking().Where(k => k.TenantId == id).OrderBy(k => k.CreatedAt).ThenBy(k => k.Id)
            .ToListAsync(cancellationToken);
        return keys.Select(ApiKeyResponse.From).ToList();
    }

    /// <summary>Mints a key; its secret is in the result only, the database keeps its hash.</summary>
    public async Task<KeyOutcome<CreatedApiKeyResponse>> CreateKeyAsync(
        Guid id, CreateApiKeyRequest request, ClaimsPrincipal user, CancellationToken cancellationToken)
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
        await RequireManagedTenantAsync(user, id, cancellationToken);
        ApiKeyRole role = request.Role ?? (isAdmin == true ? ApiKeyRole.TenantAdmin : ApiKeyRole.Member);
        if (role > user.Role())
        {
            return new KeyOutcome<CreatedApiKeyResponse>(null, $"A {user.Role()} key cannot create a {role} key.");
        }
        string secret = ApiKey.NewSecret();
        ApiKey key = ApiKey.Create(id, request.Name!.Trim(), secret, role, clock.GetUtcNow().UtcDateTime);
        db.ApiKeys.Add(key);
        await db.SaveChangesAsync(cancellationToken);
        return new KeyOutcome<CreatedApiKeyResponse>(
            new CreatedApiKeyResponse(key.Id, key.TenantId, key.Name, key.Prefix, key.Role, key.Role != ApiKeyRole.Member, key.CreatedAt, secret), null);
    }

    /// <summary>
    /// Revokes a key (again: no change) and drops it from this replica's key cache; the result is the revoked key.
    /// </summary>
    public async Task<KeyOutcome<ApiKeyResponse>> RevokeKeyAsync(Guid id, Guid keyId, ClaimsPrincipal user, CancellationToken cancellationToken)
    {
        await RequireManagedTenantAsync(user, id, cancellationToken);
        ApiKey key = await db.ApiKeys.SingleOrDefaultAsync(k => k.Id == keyId && k.TenantId == id, cancellationToken)
            ?? throw new NotFoundException("API key", keyId);
        if (user.FindFirstValue(ApiKeyClaims.KeyId) == keyId.ToString())
        {
            throw new ConflictException("A key cannot revoke itself; use another admin key.");
        }
        if (key.Role > user.Role())
        {
            return new KeyOutcome<ApiKeyResponse>(null, $"A {user.Role()} key cannot revoke a {key.Role} key.");
        }
        if (key.RevokedAt is null)
        {
            key.RevokedAt = clock.GetUtcNow().UtcDateTime;
            await db.SaveChangesAsync(cancellationToken);
        }
        verifier.Forget(key.Hash);
        return new KeyOutcome<ApiKeyResponse>(ApiKeyResponse.From(key), null);
    }

    /// <summary>
    /// The tenant must exist and the caller must manage it: a service admin manages every tenant, a tenant admin only
    /// its own (another tenant answers 404, as every other tenant's resource does).
    /// </summary>
    private async Task RequireManagedTenantAsync(ClaimsPrincipal user, Guid id, CancellationToken cancellationToken)
    {
        if (user.Role() != ApiKeyRole.ServiceAdmin && user.Tenant() != id)
        {
            throw new NotFoundException("Tenant", id);
        }
        if (!await db.Tenants.AnyAsync(t => t.Id == id, cancellationToken))
        {
            throw new NotFoundException("Tenant", id);
        }
    }
}

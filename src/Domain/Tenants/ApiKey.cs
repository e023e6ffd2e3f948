using System.Security.Cryptography;
using System.Text;

namespace Domain.Tenants;

/// <summary>
/// An API key of a tenant. Only the SHA-256 of the secret is stored: keys are 192 random bits, so a fast
/// hash is enough (no password stretching) and lookups stay one indexed read.
/// </summary>
public sealed class ApiKey
{
    public const string SecretPrefix = "tsk_";
    public const int MaxNameLength = 100;

    /// <summary>Shortest key accepted from configuration (<c>Auth:BootstrapKey</c>).</summary>
    public const int MinimumConfiguredLength = 16;

    public Guid Id { get; set; }

    public Guid TenantId { get; set; }

    /// <summary>What the key is for, e.g. <c>ci</c> or <c>alice-laptop</c>.</summary>
    public required string Name { get; set; }

    /// <summary>sha256 (hex) of the whole key.</summary>
    public required string Hash { get; set; }

    /// <summary>The first characters of the key, enough to recognise it in a list.</summary>
    public required string Prefix { get; set; }

    /// <summary>What the key may manage besides its tenant's own data; see <see cref="ApiKeyRole"/>.</summary>
    public ApiKeyRole Role { get; set; }

    public DateTime CreatedAt { get; set; }

    public DateTime? RevokedAt { get; set; }

    public bool IsRevoked => RevokedAt is not null;

    /// <summary>The stored form of <paramref name="secret"/>: its hash and prefix, never the secret itself.</summary>
    public static ApiKey Create(Guid tenantId, string name, string secret, ApiKeyRole role, DateTime createdAt) => new()
    {
        Id = Guid.CreateVersion7(),
        TenantId = tenantId,
        Name = name,
        Hash = HashOf(secret),
        Prefix = PrefixOf(secret),
        Role = role,
        CreatedAt = createdAt,
    };

    /// <summary>A new random key: <c>tsk_</c> + 32 URL-safe characters (192 bits).</summary>
    public static string NewSecret() =>
        SecretPrefix + Convert.ToBase64String(RandomNumberGenerator.GetBytes(24)).Replace('+', '-').Replace('/', '_');

    public static string HashOf(string secret) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(secret)));

    public static string PrefixOf(string secret) => secret.Length <= 12 ? secret[..Math.Min(4, secret.Length)] : secret[..12];
}

/// <summary>
/// What a key may manage. Every key works with its own tenant's datasets, jobs, runs and devices; the roles
/// add administration on top: <c>Member</c> manages nothing; <c>TenantAdmin</c> lists, creates (<c>Member</c> or
/// <c>TenantAdmin</c>) and revokes the keys of its own tenant and lists the workers; <c>ServiceAdmin</c> also creates
/// and lists tenants and manages every tenant's keys.
/// </summary>
public enum ApiKeyRole
{
    /// <summary>Its tenant's data only; manages nothing.</summary>
    Member = 0,

    /// <summary>Also lists, creates (member or tenant-admin) and revokes the keys of its own tenant.</summary>
    TenantAdmin = 1,

    /// <summary>Also creates and lists tenants and manages the keys of every tenant (the bootstrap key).</summary>
    ServiceAdmin = 2,
}

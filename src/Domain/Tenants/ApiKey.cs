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

    /// <summary>Admin keys also manage tenants and keys.</summary>
    public bool IsAdmin { get; set; }

    public DateTime CreatedAt { get; set; }

    public DateTime? RevokedAt { get; set; }

    public bool IsRevoked => RevokedAt is not null;

    /// <summary>The stored form of <paramref name="secret"/>: its hash and prefix, never the secret itself.</summary>
    public static ApiKey Create(Guid tenantId, string name, string secret, bool isAdmin, DateTime createdAt) => new()
    {
        Id = Guid.CreateVersion7(),
        TenantId = tenantId,
        Name = name,
        Hash = HashOf(secret),
        Prefix = PrefixOf(secret),
        IsAdmin = isAdmin,
        CreatedAt = createdAt,
    };

    /// <summary>A new random key: <c>tsk_</c> + 32 URL-safe characters (192 bits).</summary>
    public static string NewSecret() =>
        SecretPrefix + Convert.ToBase64String(RandomNumberGenerator.GetBytes(24)).Replace('+', '-').Replace('/', '_');

    public static string HashOf(string secret) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(secret)));

    public static string PrefixOf(string secret) => secret.Length <= 12 ? secret[..Math.Min(4, secret.Length)] : secret[..12];
}

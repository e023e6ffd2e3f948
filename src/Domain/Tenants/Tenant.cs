using Domain.Common;

namespace Domain.Tenants;

/// <summary>
/// A team sharing the service. Datasets, jobs, runs (with their variants) and device profiles belong to
/// one tenant and are invisible to the others; API keys authenticate as a tenant.
/// </summary>
public sealed class Tenant
{
    public const int MaxNameLength = 64;

    /// <summary>The tenant that exists from the first migration: the bootstrap key and the embedded default's local key belong to it.</summary>
    public static readonly Guid DefaultId = new("00000000-0000-0000-0000-000000000001");

    public const string DefaultName = "default";

    public Guid Id { get; set; }

    /// <summary>Lower-case slug, unique.</summary>
    public required string Name { get; set; }

    public DateTime CreatedAt { get; set; }

    public static void ValidateName(Rules rules, string field, string? name) => Slug.Validate(rules, field, name, MaxNameLength);
}

/// <summary>Something that belongs to one tenant.</summary>
public interface ITenantOwned
{
    Guid TenantId { get; set; }
}

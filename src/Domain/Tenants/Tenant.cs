using System.Text.RegularExpressions;
using Domain.Common;

namespace Domain.Tenants;

/// <summary>
/// A team sharing the service. Datasets, jobs, runs (with their variants) and device profiles belong to
/// one tenant and are invisible to the others; API keys authenticate as a tenant.
/// </summary>
public sealed partial class Tenant
{
    public const int MaxNameLength = 64;

    /// <summary>The tenant that exists from the first migration: the bootstrap key and the embedded default's local key belong to it.</summary>
    public static readonly Guid DefaultId = new("00000000-0000-0000-0000-000000000001");

    public const string DefaultName = "default";

    public Guid Id { get; set; }

    /// <summary>Lower-case slug, unique.</summary>
    public required string Name { get; set; }

    public DateTime CreatedAt { get; set; }

    public static void ValidateName(Rules rules, string field, string? name)
    {
        if (string.IsNullOrEmpty(name))
        {
            rules.Add(field, "is required.");
        }
        else if (name.Length > MaxNameLength || !NamePattern().IsMatch(name))
        {
            rules.Add(field, $"must be 1 to {MaxNameLength} lower-case letters, digits, '.', '_' or '-', starting with a letter or digit (was '{name}').");
        }
    }

    [GeneratedRegex("^[a-z0-9][a-z0-9._-]*$")]
    private static partial Regex NamePattern();
}

/// <summary>Something that belongs to one tenant.</summary>
public interface ITenantOwned
{
    Guid TenantId { get; set; }
}

using System.Text.RegularExpressions;

namespace Domain.Common;

/// <summary>Names that appear in URLs and logs (tenants, device profiles): lower-case letters, digits, '.', '_' and '-'.</summary>
public static partial class Slug
{
    public static void Validate(Rules rules, string field, string? name, int maxLength)
    {
        if (string.IsNullOrEmpty(name))
        {
            rules.Add(field, "is required.");
        }
        else if (name.Length > maxLength || !Pattern().IsMatch(name))
        {
            rules.Add(field, $"must be 1 to {maxLength} lower-case letters, digits, '.', '_' or '-', starting with a letter or digit (was '{name}').");
        }
    }

    [GeneratedRegex("^[a-z0-9][a-z0-9._-]*$")]
    private static partial Regex Pattern();
}

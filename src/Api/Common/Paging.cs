namespace Api.Common;

/// <summary>One page of a list, newest first.</summary>
/// <param name="Items">The items of this page.</param>
/// <param name="Total">Items matching the filters, on all pages.</param>
/// <param name="Offset">Items skipped before this page.</param>
/// <param name="Limit">Most items a page holds (1..500).</param>
public sealed record Page<T>(IReadOnlyList<T> Items, int Total, int Offset, int Limit);

internal static class Paging
{
    public const int MaxLimit = 500;

    public static (int Offset, int Limit) Clamp(int offset, int limit)
    {
        var rules = new Rules();
        (offset, limit) = Clamp(rules, offset, limit);
        rules.ThrowIfInvalid();
        return (offset, limit);
    }

    /// <summary>Adds paging violations to <paramref name="rules"/>, so a list reports them with its other filters' at once.</summary>
    public static (int Offset, int Limit) Clamp(Rules rules, int offset, int limit)
    {
        rules.Range("offset", offset, 0, int.MaxValue);
        rules.Range("limit", limit, 1, MaxLimit);
        return (offset, limit);
    }
}

using System.Globalization;
using System.Linq.Expressions;

namespace Api.Common;

/// <summary>
/// The optional time window of a list filter, in UTC: <see cref="From"/> inclusive and <see cref="Before"/> exclusive,
/// so adjacent windows neither overlap nor leave a gap. Either end may be open (null).
/// </summary>
internal readonly record struct TimeWindow(DateTime? From, DateTime? Before)
{
    public const string AfterDescription = "Only items at or after this instant (inclusive), ISO-8601, e.g. 2026-01-31T00:00:00Z; without an offset, UTC.";

    public const string BeforeDescription = "Only items before this instant (exclusive), ISO-8601; must not be earlier than the window's start.";

    /// <summary>
    /// Converts the query's instants to UTC; a start later than the end adds a violation of <paramref name="beforeField"/>
    /// to <paramref name="rules"/> (equal ends are a valid, empty window).
    /// </summary>
    public static TimeWindow Check(Rules rules, string afterField, DateTimeOffset? after, string beforeField, DateTimeOffset? before)
    {
        if (after is { } start && before is { } end && start > end)
        {
            rules.Add(beforeField, string.Create(CultureInfo.InvariantCulture,
                $"must not be earlier than {afterField} (was {end.UtcDateTime:O}; {afterField} is {start.UtcDateTime:O})."));
        }
        return new TimeWindow(after?.UtcDateTime, before?.UtcDateTime);
    }

    /// <summary>Keeps the items whose <paramref name="at"/> lies in the window (translated to SQL, with the ends as parameters).</summary>
    public IQueryable<T> Apply<T>(IQueryable<T> query, Expression<Func<T, DateTime>> at)
    {
        if (From is { } from)
        {
            query = query.Where(Compare(at, from, Expression.GreaterThanOrEqual));
        }
        if (Before is { } before)
        {
            query = query.Where(Compare(at, before, Expression.LessThan));
        }
        return query;
    }

    private static Expression<Func<T, bool>> Compare<T>(
        Expression<Func<T, DateTime>> at, DateTime value, Func<Expression, Expression, BinaryExpression> compare)
    {
        // A captured variable, not a constant, so EF Core sends it as a parameter.
        Expression<Func<DateTime>> bound = () => value;
        return Expression.Lambda<Func<T, bool>>(compare(at.Body, bound.Body), at.Parameters);
    }
}

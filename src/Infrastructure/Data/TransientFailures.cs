using System.Net.Sockets;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Infrastructure.Data;

/// <summary>Which database failures are worth waiting out (a restarting or unreachable server, a busy file).</summary>
public static class TransientFailures
{
    /// <summary>True for a lost or refused connection, a server shutting down or starting, a timeout, a busy SQLite file.</summary>
    public static bool IsTransient(Exception? exception)
    {
        for (Exception? e = exception; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                case PostgresException pg:
                    // 08: connection exception; 57P01-57P03: admin/crash shutdown, cannot connect now; 53300: too many connections.
                    return pg.SqlState.StartsWith("08", StringComparison.Ordinal) || pg.SqlState.StartsWith("57P", StringComparison.Ordinal)
                        || pg.SqlState == "53300" || pg.IsTransient;
                case NpgsqlException npgsql when npgsql.IsTransient:
                    return true;
                case SqliteException sqlite when sqlite.SqliteErrorCode is 5 or 6:
                    return true;
                case SocketException or TimeoutException or EndOfStreamException:
                    return true;
            }
        }
        return false;
    }

    /// <summary>
    /// Runs <paramref name="action"/>, retrying transient failures with exponential backoff (1 s doubling to 30 s)
    /// until <paramref name="patience"/> has passed; <paramref name="onRetry"/> runs before each wait (reset state there).
    /// </summary>
    public static T Retry<T>(Func<T> action, TimeSpan patience, Action<Exception, TimeSpan> onRetry, CancellationToken cancellationToken = default)
    {
        DateTime giveUpAt = DateTime.UtcNow + patience;
        TimeSpan delay = TimeSpan.FromSeconds(1);
        while (true)
        {
            try
            {
                return action();
            }
            catch (Exception ex) when (IsTransient(ex) && DateTime.UtcNow + delay < giveUpAt)
            {
                onRetry(ex, delay);
                cancellationToken.WaitHandle.WaitOne(delay);
                cancellationToken.ThrowIfCancellationRequested();
                delay = TimeSpan.FromSeconds(Math.Min(30, delay.TotalSeconds * 2));
            }
        }
    }
}

/// <summary>Recognises unique-constraint violations, to tell an expected race from a real error.</summary>
public static class UniqueViolations
{
    /// <summary>True when <paramref name="exception"/> is a unique violation on an index that includes <paramref name="column"/>.</summary>
    public static bool Involves(DbUpdateException exception, string column) => exception.InnerException switch
    {
        PostgresException { SqlState: PostgresErrorCodes.UniqueViolation } pg =>
            pg.ConstraintName?.Contains(column, StringComparison.OrdinalIgnoreCase) == true,
        // SQLITE_CONSTRAINT; the message names the columns ("UNIQUE constraint failed: jobs.TenantId, jobs.IdempotencyKey").
        SqliteException { SqliteErrorCode: 19 } sqlite => sqlite.Message.Contains("UNIQUE", StringComparison.Ordinal)
            && sqlite.Message.Contains(column, StringComparison.OrdinalIgnoreCase),
        _ => false,
    };
}

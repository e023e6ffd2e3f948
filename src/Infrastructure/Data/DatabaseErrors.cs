using System.Net.Sockets;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Infrastructure.Data;

/// <summary>Recognises failures that mean "the database is unreachable or busy for now", which a client should retry.</summary>
public static class DatabaseErrors
{
    /// <summary>Seconds a client should wait before retrying (the Retry-After of a 503).</summary>
    public const int RetryAfterSeconds = 5;

    private const int SqliteBusy = 5;
    private const int SqliteLocked = 6;

    /// <summary>
    /// Whether <paramref name="exception"/> or an inner exception (EF Core and Hangfire wrap them) is a transient database
    /// failure: an <see cref="NpgsqlException"/> that Npgsql calls transient or that a socket, timeout or broken stream
    /// caused; a <see cref="PostgresException"/> of SQLSTATE class 08 (connection exception) or 57P (operator intervention:
    /// shutdown, cannot connect now); SQLite's SQLITE_BUSY or SQLITE_LOCKED.
    /// </summary>
    public static bool IsTransient(Exception? exception)
    {
        for (Exception? e = exception; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                // 25P03: the server ended a transaction left idle too long (idle_in_transaction_session_timeout); reconnect and retry.
                case PostgresException p when p.SqlState.StartsWith("08", StringComparison.Ordinal) || p.SqlState.StartsWith("57P", StringComparison.Ordinal)
                    || p.SqlState == "25P03":
                    return true;
                case NpgsqlException n when n.IsTransient
                    || n.InnerException is SocketException or TimeoutException or EndOfStreamException or IOException:
                    return true;
                case SqliteException { SqliteErrorCode: SqliteBusy or SqliteLocked }:
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

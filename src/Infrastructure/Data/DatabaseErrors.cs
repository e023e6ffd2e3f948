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
                case PostgresException p when p.SqlState.StartsWith("08", StringComparison.Ordinal) || p.SqlState.StartsWith("57P", StringComparison.Ordinal):
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
}

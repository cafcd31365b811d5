using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace Storage.Internal;

/// <summary>Turns provider exceptions into ours, keeping the provider's as the inner exception.</summary>
internal static class StoreErrors
{
    /// <summary>
    /// Whether an exception came from the database or the connection: the provider's own, EF's wrapper of a
    /// failed save, or EF's report that its retries ran out (whose inner exception is the last failure).
    /// </summary>
    public static bool IsProviderFailure(Exception e) =>
        e is NpgsqlException or DbUpdateException or Microsoft.EntityFrameworkCore.Storage.RetryLimitExceededException
            or InvalidOperationException { InnerException: NpgsqlException or DbUpdateException };

    public static ChatCompletionStoreException Translate(Exception exception, string operation)
    {
        var npgsql = exception as NpgsqlException
            ?? exception.InnerException as NpgsqlException
            ?? exception.InnerException?.InnerException as NpgsqlException;
        // The message names the operation and PostgreSQL's error code only: server messages can quote values.
        var reason = npgsql switch
        {
            PostgresException postgres => $"PostgreSQL error {postgres.SqlState}",
            not null => "a connection or protocol failure",
            _ => exception is DbUpdateConcurrencyException ? "a concurrent change" : "an unexpected database failure",
        };
        return new ChatCompletionStoreException($"Could not {operation}: {reason}.", exception)
        {
            IsTransient = npgsql?.IsTransient == true,
        };
    }
}

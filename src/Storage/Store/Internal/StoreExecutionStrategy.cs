using Microsoft.EntityFrameworkCore.Storage;
using Npgsql;
using Npgsql.EntityFrameworkCore.PostgreSQL;

namespace Storage.Internal;

/// <summary>
/// EF's retrying strategy for PostgreSQL with two changes that make a save acknowledged soon after the server is back.
/// The pool is cleared when the connection or the server fails: after a restart every idle pooled connection is dead,
/// and without it each retry would meet the next dead one. The waits start at 100 ms and double up to
/// <see cref="ChatCompletionStoreOptions.MaxRetryDelay"/> instead of starting near a second and growing to thirty.
/// Replaying is safe: a save whose commit outcome was lost is recognised by its content-derived key.
/// </summary>
internal sealed class StoreExecutionStrategy(
    ExecutionStrategyDependencies dependencies, NpgsqlDataSource dataSource, int maxRetryCount, TimeSpan maxRetryDelay)
    : NpgsqlRetryingExecutionStrategy(dependencies, maxRetryCount, maxRetryDelay, errorCodesToAdd: null)
{
    private static readonly TimeSpan FirstDelay = TimeSpan.FromMilliseconds(100);

    protected override bool ShouldRetryOn(Exception? exception)
    {
        if (!base.ShouldRetryOn(exception))
        {
            return false;
        }

        // A lost connection or a server shutting down means the pooled connections are dead too; a serialization failure
        // or a deadlock (a PostgresException of another class) says nothing about them.
        if (exception is not PostgresException postgres || postgres.SqlState.StartsWith("08", StringComparison.Ordinal)
            || postgres.SqlState.StartsWith("57P", StringComparison.Ordinal))
        {
            dataSource.Clear();
        }

        return true;
    }

    protected override TimeSpan? GetNextDelay(Exception lastException)
    {
        if (base.GetNextDelay(lastException) is null)
        {
            return null;
        }

        var doubled = FirstDelay * Math.Pow(2, Math.Min(ExceptionsEncountered.Count - 1, 16));
        return doubled < MaxRetryDelay ? doubled : MaxRetryDelay;
    }
}

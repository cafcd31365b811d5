using System.Data.Common;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Npgsql;

namespace Storage.Internal;

/// <summary>
/// On a Citus deployment, states the tenant claim in every transaction that EF's commands run in. Row-level security is
/// checked on the workers, and Citus passes a setting to the workers' connections only when it is made with
/// <c>SET LOCAL</c> inside a transaction block (what the Citus <c>storage_claim_tenant</c> does): a session setting stays
/// on the coordinator. So a command EF runs without a transaction (a query, an ExecuteUpdate or ExecuteDelete, a
/// one-command SaveChanges) gets a transaction of its own that states the claim first and commits when the command has
/// ended, as autocommit would; a transaction EF begins states the claim first. Elsewhere (a single node, where
/// <see cref="ChatCompletionDbContext.ClaimEachTransaction"/> is false) it does nothing.
/// </summary>
internal sealed class TenantTransactionInterceptor : IDbCommandInterceptor, IDbTransactionInterceptor
{
    public static readonly TenantTransactionInterceptor Instance = new();

    public InterceptionResult<DbDataReader> ReaderExecuting(DbCommand command, CommandEventData eventData, InterceptionResult<DbDataReader> result)
    {
        Begin(command, eventData);
        return result;
    }

    public async ValueTask<InterceptionResult<DbDataReader>> ReaderExecutingAsync(
        DbCommand command, CommandEventData eventData, InterceptionResult<DbDataReader> result, CancellationToken cancellationToken = default)
    {
        await BeginAsync(command, eventData, cancellationToken).ConfigureAwait(false);
        return result;
    }

    public InterceptionResult<object> ScalarExecuting(DbCommand command, CommandEventData eventData, InterceptionResult<object> result)
    {
        Begin(command, eventData);
        return result;
    }

    public async ValueTask<InterceptionResult<object>> ScalarExecutingAsync(
        DbCommand command, CommandEventData eventData, InterceptionResult<object> result, CancellationToken cancellationToken = default)
    {
        await BeginAsync(command, eventData, cancellationToken).ConfigureAwait(false);
        return result;
    }

    public InterceptionResult<int> NonQueryExecuting(DbCommand command, CommandEventData eventData, InterceptionResult<int> result)
    {
        Begin(command, eventData);
        return result;
    }

    public async ValueTask<InterceptionResult<int>> NonQueryExecutingAsync(
        DbCommand command, CommandEventData eventData, InterceptionResult<int> result, CancellationToken cancellationToken = default)
    {
        await BeginAsync(command, eventData, cancellationToken).ConfigureAwait(false);
        return result;
    }

    public object? ScalarExecuted(DbCommand command, CommandExecutedEventData eventData, object? result)
    {
        End(eventData, commit: true);
        return result;
    }

    public async ValueTask<object?> ScalarExecutedAsync(DbCommand command, CommandExecutedEventData eventData, object? result, CancellationToken cancellationToken = default)
    {
        await EndAsync(eventData, cancellationToken).ConfigureAwait(false);
        return result;
    }

    public int NonQueryExecuted(DbCommand command, CommandExecutedEventData eventData, int result)
    {
        End(eventData, commit: true);
        return result;
    }

    public async ValueTask<int> NonQueryExecutedAsync(DbCommand command, CommandExecutedEventData eventData, int result, CancellationToken cancellationToken = default)
    {
        await EndAsync(eventData, cancellationToken).ConfigureAwait(false);
        return result;
    }

    // A reader's transaction ends when the reader does: closed first, since the connection runs one command at a time.
    public InterceptionResult DataReaderClosing(DbCommand command, DataReaderClosingEventData eventData, InterceptionResult result)
    {
        if (Pending(eventData) is not null)
        {
            eventData.DataReader.Close();
            End(eventData, commit: true);
        }

        return result;
    }

    public async ValueTask<InterceptionResult> DataReaderClosingAsync(DbCommand command, DataReaderClosingEventData eventData, InterceptionResult result)
    {
        if (Pending(eventData) is not null)
        {
            await eventData.DataReader.CloseAsync().ConfigureAwait(false);
            await EndAsync(eventData, CancellationToken.None).ConfigureAwait(false);
        }

        return result;
    }

    public InterceptionResult DataReaderDisposing(DbCommand command, DataReaderDisposingEventData eventData, InterceptionResult result)
    {
        if (Pending(eventData) is not null)
        {
            eventData.DataReader.Close();
            End(eventData, commit: true);
        }

        return result;
    }

    public void CommandFailed(DbCommand command, CommandErrorEventData eventData) => End(eventData, commit: false);

    public Task CommandFailedAsync(DbCommand command, CommandErrorEventData eventData, CancellationToken cancellationToken = default)
    {
        End(eventData, commit: false);
        return Task.CompletedTask;
    }

    public void CommandCanceled(DbCommand command, CommandEndEventData eventData) => End(eventData, commit: false);

    public Task CommandCanceledAsync(DbCommand command, CommandEndEventData eventData, CancellationToken cancellationToken = default)
    {
        End(eventData, commit: false);
        return Task.CompletedTask;
    }

    public DbTransaction TransactionStarted(DbConnection connection, TransactionEndEventData eventData, DbTransaction result)
    {
        if (eventData.Context is ChatCompletionDbContext { ClaimEachTransaction: true } db)
        {
            using var claim = TenantSessionInterceptor.Command((NpgsqlConnection)connection, db.Claim, (NpgsqlTransaction)result);
            claim.ExecuteNonQuery();
        }

        return result;
    }

    public async ValueTask<DbTransaction> TransactionStartedAsync(
        DbConnection connection, TransactionEndEventData eventData, DbTransaction result, CancellationToken cancellationToken = default)
    {
        if (eventData.Context is ChatCompletionDbContext { ClaimEachTransaction: true } db)
        {
            await using var claim = TenantSessionInterceptor.Command((NpgsqlConnection)connection, db.Claim, (NpgsqlTransaction)result);
            await claim.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        return result;
    }

    /// <summary>Ends the command's own transaction, if it has one: commits it, or (on failure) rolls it back.</summary>
    public static void End(DbContextEventData eventData, bool commit)
    {
        if (Pending(eventData) is { } db)
        {
            using var transaction = db.ClaimTransaction!;
            db.ClaimTransaction = null;
            if (commit)
            {
                transaction.Commit();
            }
        }
    }

    private static async Task EndAsync(DbContextEventData eventData, CancellationToken cancellationToken)
    {
        if (Pending(eventData) is { } db)
        {
            await using var transaction = db.ClaimTransaction!;
            db.ClaimTransaction = null;
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private static ChatCompletionDbContext? Pending(DbContextEventData eventData) =>
        eventData.Context is ChatCompletionDbContext { ClaimTransaction: not null } db ? db : null;

    // The command needs a transaction of its own when the database wants a claim per transaction and EF gave it none.
    private static ChatCompletionDbContext? Needing(DbCommand command, CommandEventData eventData) =>
        command.Transaction is null && eventData.Context is ChatCompletionDbContext { ClaimEachTransaction: true, ClaimTransaction: null } db ? db : null;

    private static void Begin(DbCommand command, CommandEventData eventData)
    {
        if (Needing(command, eventData) is { } db)
        {
            var connection = (NpgsqlConnection)command.Connection!;
            var transaction = connection.BeginTransaction();
            try
            {
                using var claim = TenantSessionInterceptor.Command(connection, db.Claim, transaction);
                claim.ExecuteNonQuery();
            }
            catch
            {
                transaction.Dispose();
                throw;
            }

            command.Transaction = transaction;
            db.ClaimTransaction = transaction;
        }
    }

    private static async Task BeginAsync(DbCommand command, CommandEventData eventData, CancellationToken cancellationToken)
    {
        if (Needing(command, eventData) is { } db)
        {
            var connection = (NpgsqlConnection)command.Connection!;
            var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                await using var claim = TenantSessionInterceptor.Command(connection, db.Claim, transaction);
                await claim.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                await transaction.DisposeAsync().ConfigureAwait(false);
                throw;
            }

            command.Transaction = transaction;
            db.ClaimTransaction = transaction;
        }
    }
}

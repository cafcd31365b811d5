using System.Data.Common;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Npgsql;

namespace Storage.Internal;

/// <summary>
/// Tells PostgreSQL which tenant a scoped store's connection works for, so that row-level security applies the same
/// isolation as the library's query filters. It is set for the session when EF opens the connection, by the same call
/// as the bulk path's (<see cref="TenantSql"/>); Npgsql resets the session (<c>DISCARD ALL</c>) when the connection
/// returns to its pool, so the next user never inherits it. The unscoped store without a signing key sets nothing: an
/// unset tenant is the unscoped tenant <c>""</c>. The call's answer says whether each transaction must state the claim
/// again (Citus), which <see cref="TenantTransactionInterceptor"/> then does.
/// </summary>
internal sealed class TenantSessionInterceptor : DbConnectionInterceptor
{
    public static readonly TenantSessionInterceptor Instance = new();

    public override void ConnectionOpened(DbConnection connection, ConnectionEndEventData eventData)
    {
        if (eventData.Context is ChatCompletionDbContext db)
        {
            db.ClaimEachTransaction = false;
            if (db.Claim.MustBeSet)
            {
                using var command = Command((NpgsqlConnection)connection, db.Claim, transaction: null);
                db.ClaimEachTransaction = command.ExecuteScalar() is true;
            }
        }
    }

    public override async Task ConnectionOpenedAsync(DbConnection connection, ConnectionEndEventData eventData, CancellationToken cancellationToken = default)
    {
        if (eventData.Context is ChatCompletionDbContext db)
        {
            db.ClaimEachTransaction = false;
            if (db.Claim.MustBeSet)
            {
                await using var command = Command((NpgsqlConnection)connection, db.Claim, transaction: null);
                db.ClaimEachTransaction = await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is true;
            }
        }
    }

    // A transaction of a command that never reached its end (the reader was never closed) goes with the connection.
    public override InterceptionResult ConnectionClosing(DbConnection connection, ConnectionEventData eventData, InterceptionResult result)
    {
        TenantTransactionInterceptor.End(eventData, commit: false);
        return result;
    }

    public override ValueTask<InterceptionResult> ConnectionClosingAsync(DbConnection connection, ConnectionEventData eventData, InterceptionResult result)
    {
        TenantTransactionInterceptor.End(eventData, commit: false);
        return ValueTask.FromResult(result);
    }

    public static NpgsqlCommand Command(NpgsqlConnection connection, TenantClaim claim, NpgsqlTransaction? transaction)
    {
        var command = new NpgsqlCommand(TenantSql.SetTenant, connection, transaction);
        command.Parameters.AddRange(TenantSql.ClaimParameters(claim));
        return command;
    }
}

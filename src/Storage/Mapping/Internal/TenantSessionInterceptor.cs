using System.Data.Common;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Npgsql;

namespace Storage.Internal;

/// <summary>
/// Tells PostgreSQL which tenant a scoped store's connection works for, so that row-level security applies the same
/// isolation as the library's query filters. It is set for the session when EF opens the connection, by the same call
/// as the bulk path's (<see cref="TenantSql"/>); Npgsql resets the session (<c>DISCARD ALL</c>) when the connection
/// returns to its pool, so the next user never inherits it. The unscoped store without a signing key sets nothing: an
/// unset tenant is the unscoped tenant <c>""</c>.
/// </summary>
internal sealed class TenantSessionInterceptor : DbConnectionInterceptor
{
    public static readonly TenantSessionInterceptor Instance = new();

    public override void ConnectionOpened(DbConnection connection, ConnectionEndEventData eventData)
    {
        if (ClaimOf(eventData) is { } claim)
        {
            using var command = Command(connection, claim);
            command.ExecuteNonQuery();
        }
    }

    public override async Task ConnectionOpenedAsync(DbConnection connection, ConnectionEndEventData eventData, CancellationToken cancellationToken = default)
    {
        if (ClaimOf(eventData) is { } claim)
        {
            await using var command = Command(connection, claim);
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private static TenantClaim? ClaimOf(ConnectionEndEventData eventData) =>
        eventData.Context is ChatCompletionDbContext { Claim.MustBeSet: true } db ? db.Claim : null;

    private static NpgsqlCommand Command(DbConnection connection, TenantClaim claim)
    {
        var command = new NpgsqlCommand(TenantSql.SetTenant, (NpgsqlConnection)connection);
        command.Parameters.AddRange(TenantSql.ClaimParameters(claim));
        return command;
    }
}

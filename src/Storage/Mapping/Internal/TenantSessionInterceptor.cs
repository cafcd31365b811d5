using System.Data.Common;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Npgsql;

namespace Storage.Internal;

/// <summary>
/// Tells PostgreSQL which tenant a scoped store's connection works for, so that row-level security applies the same
/// isolation as the library's query filters. It is set for the session when EF opens the connection, by the same call
/// as the bulk path's (<see cref="TenantSql"/>); Npgsql resets the session (<c>DISCARD ALL</c>) when the connection
/// returns to its pool, so the next user never inherits it. The unscoped store sets nothing: an unset tenant is the
/// unscoped tenant <c>""</c>.
/// </summary>
internal sealed class TenantSessionInterceptor : DbConnectionInterceptor
{
    public static readonly TenantSessionInterceptor Instance = new();

    public override void ConnectionOpened(DbConnection connection, ConnectionEndEventData eventData)
    {
        if (TenantOf(eventData) is { } tenant)
        {
            using var command = Command(connection, tenant);
            command.ExecuteNonQuery();
        }
    }

    public override async Task ConnectionOpenedAsync(DbConnection connection, ConnectionEndEventData eventData, CancellationToken cancellationToken = default)
    {
        if (TenantOf(eventData) is { } tenant)
        {
            await using var command = Command(connection, tenant);
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private static string? TenantOf(ConnectionEndEventData eventData) =>
        eventData.Context is ChatCompletionDbContext { Tenant.Length: > 0 } db ? db.Tenant : null;

    private static NpgsqlCommand Command(DbConnection connection, string tenant) =>
        new(TenantSql.SetTenant, (NpgsqlConnection)connection) { Parameters = { TenantSql.TenantParameter(tenant) } };
}

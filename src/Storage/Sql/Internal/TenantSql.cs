using Npgsql;
using NpgsqlTypes;

namespace Storage.Internal;

/// <summary>
/// How a connection tells PostgreSQL its tenant, for row-level security: one call, used by the EF path (on connection
/// open, <see cref="TenantSessionInterceptor"/>) and by the bulk path (first thing in its transaction).
/// </summary>
/// <remarks>
/// The setting is the session's (<c>is_local = false</c>): EF runs a single query without a transaction, so a
/// transaction-local setting made when the connection opens would be gone before the query. Npgsql resets the
/// session (<c>DISCARD ALL</c>) when a connection returns to its pool, so the next user never inherits it.
/// </remarks>
internal static class TenantSql
{
    public const string SetTenant = "SELECT set_config('storage.tenant', @tenant, false)";

    public static NpgsqlParameter TenantParameter(string tenant) => new("tenant", NpgsqlDbType.Text) { Value = tenant };
}

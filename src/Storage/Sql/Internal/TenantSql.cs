using System.Security.Cryptography;
using System.Text;
using Npgsql;
using NpgsqlTypes;

namespace Storage.Internal;

/// <summary>
/// How a connection tells PostgreSQL its tenant, for row-level security: one call, used by the EF path (on connection
/// open, <see cref="TenantSessionInterceptor"/>) and by the bulk path (first thing in its transaction). With a signing
/// key (<see cref="ChatCompletionStoreOptions.TenantSigningKey"/>), the claim carries its HMAC-SHA256, which the
/// database's <c>storage_current_tenant()</c> checks against the key only the schema's owner can read.
/// </summary>
/// <remarks>
/// The database's <c>storage_claim_tenant</c> sets the claim for the session (EF runs a single query without a
/// transaction, so a transaction-local setting made when the connection opens would be gone before the query); Npgsql
/// resets the session (<c>DISCARD ALL</c>) when a connection returns to its pool, so the next user never inherits it.
/// It returns whether the claim must be stated again in each transaction: true only on a Citus deployment, whose
/// workers see a setting only when it is made with <c>SET LOCAL</c> inside the transaction (<see cref="TenantTransactionInterceptor"/>).
/// </remarks>
internal static class TenantSql
{
    public const string SetTenant = "SELECT storage_claim_tenant(@tenant, @tenant_proof)";

    public static NpgsqlParameter TenantParameter(string tenant) => new("tenant", NpgsqlDbType.Text) { Value = tenant };

    public static NpgsqlParameter[] ClaimParameters(TenantClaim claim) =>
        [TenantParameter(claim.Tenant), new("tenant_proof", NpgsqlDbType.Text) { Value = claim.Proof }];
}

/// <summary>The tenant a store acts for, and its proof: the lower-case hex HMAC-SHA256 of its UTF-8 under the signing key, or "" without one.</summary>
internal sealed record TenantClaim(string Tenant, string Proof)
{
    public static TenantClaim Create(string tenant, byte[]? signingKey) =>
        new(tenant, signingKey is null ? "" : Convert.ToHexStringLower(HMACSHA256.HashData(signingKey, Encoding.UTF8.GetBytes(tenant))));

    /// <summary>Whether a connection must say anything: an unsigned unscoped claim is what an unset setting means.</summary>
    public bool MustBeSet => Tenant.Length > 0 || Proof.Length > 0;
}

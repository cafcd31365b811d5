using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Storage.Internal;

/// <summary>
/// SHA-256 of a completion's canonical JSON without its metadata: members sorted by name, numbers in one normal form.
/// Two completions that are semantically equal JSON hash alike, whatever their key order or number spelling (jsonb
/// reorders keys and respells numbers, so an export re-imported is recognised as a replay). The metadata is left out
/// because it is the one part a caller may change after storing: an export taken after a metadata update, imported
/// again, is the same completion, not a second one.
/// </summary>
/// <remarks>
/// Stored keys depend on these exact bytes: the canonical text is what <c>System.Text.Json</c>'s default
/// writer makes of the members sorted by UTF-16 ordinal (stable), strings re-escaped by its default encoder,
/// numbers as <c>[-]d.ddd e[-]x</c> without redundant zeros. A test holds it to the first implementation.
/// </remarks>
internal static class ContentHash
{
    public const int Length = 32;

    /// <summary>The top-level member the hash leaves out.</summary>
    public static readonly ReadOnlyMemory<byte> LeftOut = "metadata"u8.ToArray();

    /// <summary>
    /// The hash of the completion as stored for a tenant. The unscoped tenant <c>""</c> hashes the canonical JSON alone;
    /// another tenant is mixed in (its UTF-8, then U+0000, which no tenant holds), so the same completion stored by two
    /// tenants gets two keys and a replay is recognised only within its tenant.
    /// </summary>
    public static byte[] Compute(ChatCompletion completion, string tenant)
    {
        using var scratch = CanonicalJson.Rent();
        byte[] hash;
        try
        {
            scratch.Serialize(completion);
            hash = tenant.Length == 0 ? SHA256.HashData(scratch.Canonicalize(LeftOut)) : TenantHash(tenant, scratch.Canonicalize(LeftOut));
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or (ArgumentException and not ArgumentNullException))
        {
            throw CompletionValidator.Unwritable(completion, e);
        }

        return scratch.HasUnstorableJson ? throw CompletionValidator.Unwritable(completion, null) : hash;
    }

    private static byte[] TenantHash(string tenant, ReadOnlySpan<byte> canonical)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(Encoding.UTF8.GetBytes(tenant));
        hash.AppendData([0]);
        hash.AppendData(canonical);
        return hash.GetHashAndReset();
    }

    /// <summary>The surrogate key: the hash's first 8 bytes, so a replay maps to the same primary key.</summary>
    public static long ToKey(ReadOnlySpan<byte> hash) => BinaryPrimitives.ReadInt64BigEndian(hash);
}

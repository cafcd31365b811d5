using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text.Json;

namespace Storage.Internal;

/// <summary>
/// SHA-256 of a completion's canonical JSON: members sorted by name, numbers in one normal form. Two
/// completions that are semantically equal JSON hash alike, whatever their key order or number spelling
/// (jsonb reorders keys and respells numbers, so an export re-imported is recognised as a replay).
/// </summary>
/// <remarks>
/// Stored keys depend on these exact bytes: the canonical text is what <c>System.Text.Json</c>'s default
/// writer makes of the members sorted by UTF-16 ordinal (stable), strings re-escaped by its default encoder,
/// numbers as <c>[-]d.ddd e[-]x</c> without redundant zeros. A test holds it to the first implementation.
/// </remarks>
internal static class ContentHash
{
    public const int Length = 32;

    public static byte[] Compute(ChatCompletion completion)
    {
        using var scratch = CanonicalJson.Rent();
        byte[] hash;
        try
        {
            scratch.Serialize(completion);
            hash = SHA256.HashData(scratch.Canonicalize());
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            throw CompletionValidator.Unwritable(completion, e);
        }

        return scratch.HasDuplicateMember ? throw CompletionValidator.Unwritable(completion, null) : hash;
    }

    /// <summary>The surrogate key: the hash's first 8 bytes, so a replay maps to the same primary key.</summary>
    public static long ToKey(ReadOnlySpan<byte> hash) => BinaryPrimitives.ReadInt64BigEndian(hash);
}

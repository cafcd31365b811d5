using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Storage.Internal;

/// <summary>
/// SHA-256 of a completion's canonical JSON: members sorted by name, numbers in one normal form. Two
/// completions that are semantically equal JSON hash alike, whatever their key order or number spelling
/// (jsonb reorders keys and respells numbers, so an export re-imported is recognised as a replay).
/// </summary>
internal static class ContentHash
{
    public const int Length = 32;

    /// <summary>
    /// The hash of the completion as stored for a tenant. The unscoped tenant <c>""</c> hashes the canonical JSON alone;
    /// another tenant is mixed in (its UTF-8, then U+0000, which no tenant holds), so the same completion stored by two
    /// tenants gets two keys and a replay is recognised only within its tenant.
    /// </summary>
    public static byte[] Compute(ChatCompletion completion, string tenant)
    {
        using var document = JsonSerializer.SerializeToDocument(completion, WireJson.Options);
        var buffer = new ArrayBufferWriter<byte>(4096);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            WriteCanonical(writer, document.RootElement);
        }

        if (tenant.Length == 0)
        {
            return SHA256.HashData(buffer.WrittenSpan);
        }

        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(Encoding.UTF8.GetBytes(tenant));
        hash.AppendData([0]);
        hash.AppendData(buffer.WrittenSpan);
        return hash.GetHashAndReset();
    }

    /// <summary>The surrogate key: the hash's first 8 bytes, so a replay maps to the same primary key.</summary>
    public static long ToKey(ReadOnlySpan<byte> hash) => BinaryPrimitives.ReadInt64BigEndian(hash);

    private static void WriteCanonical(Utf8JsonWriter writer, JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                writer.WriteStartObject();
                foreach (var member in element.EnumerateObject().OrderBy(m => m.Name, StringComparer.Ordinal))
                {
                    writer.WritePropertyName(member.Name);
                    WriteCanonical(writer, member.Value);
                }

                writer.WriteEndObject();
                break;
            case JsonValueKind.Array:
                writer.WriteStartArray();
                foreach (var item in element.EnumerateArray())
                {
                    WriteCanonical(writer, item);
                }

                writer.WriteEndArray();
                break;
            case JsonValueKind.String:
                writer.WriteStringValue(element.GetString());
                break;
            case JsonValueKind.Number:
                writer.WriteRawValue(CanonicalNumber(element.GetRawText()), skipInputValidation: true);
                break;
            default:
                element.WriteTo(writer);
                break;
        }
    }

    /// <summary>
    /// Writes a JSON number as <c>[-]d.ddd e[-]x</c> with no redundant zeros, exactly, at any size: the same
    /// value spelled <c>1.50</c>, <c>15e-1</c> or <c>1.5E+0</c> gives the same text.
    /// </summary>
    internal static string CanonicalNumber(string raw)
    {
        var negative = raw.StartsWith('-');
        var body = negative ? raw[1..] : raw;
        var exponentAt = body.IndexOfAny(['e', 'E']);
        var exponent = exponentAt < 0 ? 0 : System.Numerics.BigInteger.Parse(body[(exponentAt + 1)..], System.Globalization.CultureInfo.InvariantCulture);
        var mantissa = exponentAt < 0 ? body : body[..exponentAt];
        var dot = mantissa.IndexOf('.');
        var digits = dot < 0 ? mantissa : string.Concat(mantissa.AsSpan(0, dot), mantissa.AsSpan(dot + 1));
        exponent -= dot < 0 ? 0 : mantissa.Length - dot - 1;

        var trimmedStart = digits.TrimStart('0');
        if (trimmedStart.Length == 0)
        {
            return "0";
        }

        var significant = trimmedStart.TrimEnd('0');
        exponent += trimmedStart.Length - significant.Length;
        // Value = significant × 10^exponent; normalise to one digit before the point.
        exponent += significant.Length - 1;
        var fraction = significant.Length > 1 ? "." + significant[1..] : string.Empty;
        return $"{(negative ? "-" : string.Empty)}{significant[0]}{fraction}e{exponent}";
    }
}

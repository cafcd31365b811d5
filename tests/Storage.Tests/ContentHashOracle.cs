using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Storage.Internal;

namespace Storage.Tests;

/// <summary>
/// The first content-hash implementation, kept as the oracle the fast one must match byte for byte (stored keys and
/// hashes were computed with it), with the one change of the baseline schema: the top-level metadata is left out.
/// </summary>
internal static class ContentHashOracle
{
    public static byte[] Compute(ChatCompletion completion) => SHA256.HashData(Canonical(completion));

    /// <summary>The tenant mixing as it was first written: tenant UTF-8, U+0000, canonical JSON.</summary>
    public static byte[] Compute(ChatCompletion completion, string tenant) =>
        tenant.Length == 0 ? Compute(completion) : SHA256.HashData([.. Encoding.UTF8.GetBytes(tenant), 0, .. Canonical(completion)]);

    public static byte[] Canonical(ChatCompletion completion)
    {
        using var document = JsonSerializer.SerializeToDocument(completion, WireJson.Options);
        var buffer = new ArrayBufferWriter<byte>(4096);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            foreach (var member in document.RootElement.EnumerateObject().Where(m => m.Name != "metadata").OrderBy(m => m.Name, StringComparer.Ordinal))
            {
                writer.WritePropertyName(member.Name);
                WriteCanonical(writer, member.Value);
            }

            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

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

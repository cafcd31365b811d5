using System.Text.Json;
using System.Text.Json.Nodes;

namespace Storage.Internal;

/// <summary>Merges streamed content parts into the parts a non-streamed response would hold.</summary>
internal static class ContentParts
{
    /// <summary>
    /// Appends a part, merging it into the last one when both are <c>{"type": T, "X": …}</c> with the same
    /// <c>T</c> and <c>X</c> and nothing else: strings concatenated, arrays merged item by item the same way
    /// (Mistral's <c>{"type":"thinking","thinking":[{"type":"text","text":…}]}</c>).
    /// </summary>
    public static void Append(JsonArray parts, JsonNode? part)
    {
        if (parts.Count > 0 && parts[^1] is JsonObject last && part is JsonObject next && PayloadOf(last) is { } payload && PayloadOf(next) == payload
            && (string?)last["type"] == (string?)next["type"])
        {
            var (before, after) = (last[payload]!, next[payload]!);
            if (before.GetValueKind() == JsonValueKind.String && after.GetValueKind() == JsonValueKind.String)
            {
                last[payload] = (string)before! + (string)after!;
                return;
            }

            if (before is JsonArray items && after is JsonArray more)
            {
                foreach (var item in more.ToList())
                {
                    more.Remove(item);
                    Append(items, item);
                }

                return;
            }
        }

        parts.Add(part);
    }

    // The one member besides "type", when the part has exactly that shape.
    private static string? PayloadOf(JsonObject part)
    {
        if (part.Count != 2 || part["type"] is not JsonValue type || type.GetValueKind() != JsonValueKind.String)
        {
            return null;
        }

        var payload = part.Select(member => member.Key).First(name => name != "type");
        return part[payload]?.GetValueKind() is JsonValueKind.String or JsonValueKind.Array ? payload : null;
    }
}

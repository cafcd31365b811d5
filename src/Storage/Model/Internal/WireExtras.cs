using System.Buffers;
using System.Text;
using System.Text.Json;

namespace Storage.Internal;

/// <summary>Reads and writes the extras column of a <see cref="WireObject"/>: unknown members plus known members sent as null.</summary>
internal static class WireExtras
{
    public static string? Write(WireObject target, HashSet<string>? explicitNulls)
    {
        var additional = target.AdditionalProperties;
        if ((additional is null || additional.Count == 0) && (explicitNulls is null || explicitNulls.Count == 0))
        {
            return null;
        }

        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = WireJson.Options.Encoder }))
        {
            writer.WriteStartObject();
            if (additional is not null)
            {
                foreach (var (name, value) in additional)
                {
                    writer.WritePropertyName(name);
                    value.WriteTo(writer);
                }
            }

            if (explicitNulls is not null)
            {
                foreach (var name in explicitNulls)
                {
                    writer.WriteNull(name);
                }
            }

            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    public static void Read(WireObject target, string? json, out HashSet<string>? explicitNulls)
    {
        explicitNulls = null;
        target.AdditionalProperties = null;
        if (json is null)
        {
            return;
        }

        using var document = JsonDocument.Parse(json);
        var type = target.GetType();
        Dictionary<string, JsonElement>? additional = null;
        foreach (var member in document.RootElement.EnumerateObject())
        {
            if (member.Value.ValueKind == JsonValueKind.Null && WireJson.IsKnownMember(type, member.Name))
            {
                (explicitNulls ??= new(StringComparer.Ordinal)).Add(member.Name);
            }
            else
            {
                (additional ??= new(StringComparer.Ordinal))[member.Name] = member.Value.Clone();
            }
        }

        target.AdditionalProperties = additional;
    }
}

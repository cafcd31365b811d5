using System.Buffers;
using System.Text;
using System.Text.Json;

namespace Storage.Internal;

/// <summary>Checks filter values and turns the metadata pairs into the jsonb that <c>@&gt;</c> compares.</summary>
internal static class FilterValues
{
    public static void Validate(ChatCompletionFilter? filter, string parameterName)
    {
        if (filter?.Metadata is not { } metadata)
        {
            return;
        }

        if (metadata.Values.Any(value => value is null))
        {
            throw new ArgumentException("A metadata value of the filter is null; filter values are strings.", parameterName);
        }
    }

    /// <summary>
    /// Whether anything stored could match. Stored text never holds U+0000 or a lone surrogate (the validator rejects
    /// them, and PostgreSQL could not even take them as a parameter), so a filter holding one matches nothing.
    /// </summary>
    public static bool CanMatch(ChatCompletionFilter filter) =>
        (filter.Model is null || IsStorable(filter.Model))
        && (filter.Metadata is null || filter.Metadata.All(pair => IsStorable(pair.Key) && IsStorable(pair.Value)));

    public static bool IsStorable(string value) =>
        !value.Contains('\0', StringComparison.Ordinal)
        && (value.AsSpan().IndexOfAnyInRange('\uD800', '\uDFFF') < 0 || IsWellFormed(value));

    /// <summary>The metadata pairs as one JSON object, or <c>null</c> when the filter has none (an empty object would also exclude completions without metadata).</summary>
    public static string? ContainedMetadata(ChatCompletionFilter? filter)
    {
        if (filter?.Metadata is not { Count: > 0 } metadata)
        {
            return null;
        }

        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = WireJson.Options.Encoder }))
        {
            writer.WriteStartObject();
            foreach (var (key, value) in metadata)
            {
                writer.WriteString(key, value);
            }

            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static bool IsWellFormed(string value)
    {
        for (var i = 0; i < value.Length; i++)
        {
            if (char.IsHighSurrogate(value[i]) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(value[i]))
            {
                return false;
            }
        }

        return true;
    }
}

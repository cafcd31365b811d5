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
        && (filter.Metadata is null || filter.Metadata.All(pair => IsStorable(pair.Key) && IsStorable(pair.Value)))
        && (filter.Search is null || IsStorable(filter.Search))
        && (filter.FinishReason is null || IsStorable(filter.FinishReason))
        && (filter.ToolName is null || IsStorable(filter.ToolName))
        && (filter.ServiceTier is null || IsStorable(filter.ServiceTier));

    /// <summary>
    /// Whether the filter narrows by nothing but the model and the created range: the only filters the usage rollups
    /// (kept per model and hour) can answer, and the only ones under which retention may drop whole partitions. Said
    /// by record equality, so a condition added to the filter later counts as narrowing until it is taught here.
    /// </summary>
    public static bool OnlyModelAndCreated(ChatCompletionFilter? filter) =>
        filter is null
        || (CanMatch(filter)
            && filter with
            {
                Model = null,
                CreatedFrom = null,
                CreatedTo = null,
                Metadata = filter.Metadata is { Count: 0 } ? null : filter.Metadata,
                Search = Searched(filter) is null ? null : filter.Search,
            } == Unfiltered);

    /// <summary>
    /// Whether the filter narrows by nothing but the model, the metadata and the created range (the filters of OpenAI's
    /// list, and a time window): the pages the store's compiled page query answers (<see cref="CompletionQueries"/>).
    /// </summary>
    public static bool OnlyModelMetadataAndCreated(ChatCompletionFilter? filter) =>
        filter is null || (CanMatch(filter) && OnlyModelAndCreated(filter with { Metadata = null }));

    /// <summary>The search text when it is a condition: <c>null</c> when unset or empty.</summary>
    public static string? Searched(ChatCompletionFilter? filter) => string.IsNullOrEmpty(filter?.Search) ? null : filter.Search;

    /// <summary>The search as an ILIKE pattern (backslash the escape, PostgreSQL's default): every character literal, anywhere in the text.</summary>
    public static string LikePattern(string search) =>
        $"%{search.Replace(@"\", @"\\", StringComparison.Ordinal).Replace("%", @"\%", StringComparison.Ordinal).Replace("_", @"\_", StringComparison.Ordinal)}%";

    /// <summary>The jsonb a choice's <c>tool_calls</c> contains (<c>@&gt;</c>) when it holds a call of this kind (<c>function</c> or <c>custom</c>) and name.</summary>
    public static string ToolCallContaining(string kind, string name) => Json(writer =>
    {
        writer.WriteStartArray();
        writer.WriteStartObject();
        writer.WriteStartObject(kind);
        writer.WriteString("name", name);
        writer.WriteEndObject();
        writer.WriteEndObject();
        writer.WriteEndArray();
    });

    /// <summary>What a <c>tool_calls</c> array holding at least one call contains (an empty array does not).</summary>
    public const string AnyToolCall = "[{}]";

    private static readonly ChatCompletionFilter Unfiltered = new();

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

        return Json(writer =>
        {
            writer.WriteStartObject();
            foreach (var (key, value) in metadata)
            {
                writer.WriteString(key, value);
            }

            writer.WriteEndObject();
        });
    }

    private static string Json(Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = WireJson.Options.Encoder }))
        {
            write(writer);
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

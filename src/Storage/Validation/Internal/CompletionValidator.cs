using System.Collections;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;

namespace Storage.Internal;

/// <summary>
/// Checks a completion against what PostgreSQL can hold and the configured limits, before anything is
/// written, and names the first offending field in wire-format terms.
/// </summary>
internal sealed class CompletionValidator(ChatCompletionStoreOptions options)
{
    private const int MetadataMaxPairs = 16;
    private const int MetadataMaxKeyLength = 64;
    private const int MetadataMaxValueLength = 512;

    private static readonly Dictionary<string, JsonElement> EmptyExtras = [];
    private static readonly int MaxDepth = WireJson.Options.MaxDepth == 0 ? 64 : WireJson.Options.MaxDepth;

    public void Validate(ChatCompletion completion)
    {
        ArgumentNullException.ThrowIfNull(completion);
        Required(completion.Id, "id");
        Required(completion.ObjectType, "object");
        Required(completion.Model, "model");
        Timestamp(completion.Created, "created");
        var choices = Required(completion.Choices, "choices");
        var indexes = new HashSet<int>();
        for (var i = 0; i < choices.Count; i++)
        {
            var path = $"choices[{i}]";
            var choice = Required(choices[i], path);
            Required(choice.Message, $"{path}.message");
            if (choice.Index < 0)
            {
                throw Invalid($"{path}.index", ChatCompletionValidationRule.OutOfRange, "cannot be negative");
            }

            if (!indexes.Add(choice.Index))
            {
                throw Invalid($"{path}.index", ChatCompletionValidationRule.DuplicateChoiceIndex, $"repeats index {choice.Index}");
            }

            ContentLength(choice.Message.Content, $"{path}.message.content");
        }

        if (completion.Usage is { } usage)
        {
            TokenCounts(usage);
        }

        Metadata(completion.Metadata);
        if (completion.Call is { } call)
        {
            Call(call);
        }

        // Last, every string at every depth, typed or not: System.Text.Json would silently replace a lone
        // surrogate with U+FFFD when writing, so strings are checked in the objects, before any serialization.
        // The walk that names the field builds a path per node; it runs only when a cheap one found something.
        if (HasUnstorableText(completion))
        {
            Strings(completion, "$");
        }
    }

    /// <summary>The metadata checks of <see cref="Validate"/> alone, for a metadata update: limits, null values, storable text.</summary>
    internal void ValidateMetadata(IDictionary<string, string>? metadata)
    {
        Metadata(metadata);
        Strings(metadata, "metadata");
    }

    private void ContentLength(ChatMessageContent? content, string path)
    {
        var length = content is null ? 0 : content.Text?.Length ?? content.Parts!.Value.GetRawText().Length;
        if (length > options.MaxContentLength)
        {
            throw Invalid(path, ChatCompletionValidationRule.TooLarge, $"is {length} characters, over the limit of {options.MaxContentLength}");
        }
    }

    private static void TokenCounts(ChatUsage usage)
    {
        NonNegative(usage.PromptTokens, "usage.prompt_tokens");
        NonNegative(usage.CompletionTokens, "usage.completion_tokens");
        NonNegative(usage.TotalTokens, "usage.total_tokens");
        if (usage.PromptTokensDetails is { } prompt)
        {
            NonNegative(prompt.CachedTokens, "usage.prompt_tokens_details.cached_tokens");
            NonNegative(prompt.CacheWriteTokens, "usage.prompt_tokens_details.cache_write_tokens");
            NonNegative(prompt.AudioTokens, "usage.prompt_tokens_details.audio_tokens");
            NonNegative(prompt.TextTokens, "usage.prompt_tokens_details.text_tokens");
            NonNegative(prompt.ImageTokens, "usage.prompt_tokens_details.image_tokens");
        }

        if (usage.CompletionTokensDetails is { } completion)
        {
            NonNegative(completion.ReasoningTokens, "usage.completion_tokens_details.reasoning_tokens");
            NonNegative(completion.AudioTokens, "usage.completion_tokens_details.audio_tokens");
            NonNegative(completion.TextTokens, "usage.completion_tokens_details.text_tokens");
            NonNegative(completion.AcceptedPredictionTokens, "usage.completion_tokens_details.accepted_prediction_tokens");
            NonNegative(completion.RejectedPredictionTokens, "usage.completion_tokens_details.rejected_prediction_tokens");
        }
    }

    private void Metadata(IDictionary<string, string>? metadata)
    {
        if (metadata is null)
        {
            return;
        }

        // Values are strings, never null, whatever the limits: the map must read back as it was written.
        foreach (var (key, value) in metadata)
        {
            Required(value, $"metadata.{key}");
        }

        if (!options.ValidateMetadata)
        {
            return;
        }

        if (metadata.Count > MetadataMaxPairs)
        {
            throw Invalid("metadata", ChatCompletionValidationRule.MetadataLimit, $"has {metadata.Count} pairs, over the limit of {MetadataMaxPairs}");
        }

        foreach (var (key, value) in metadata)
        {
            var path = $"metadata.{key}";
            if (CharacterCount(key) > MetadataMaxKeyLength)
            {
                throw Invalid(path, ChatCompletionValidationRule.MetadataLimit, $"has a key over {MetadataMaxKeyLength} characters");
            }

            if (CharacterCount(value) > MetadataMaxValueLength)
            {
                throw Invalid(path, ChatCompletionValidationRule.MetadataLimit, $"has a value over {MetadataMaxValueLength} characters");
            }
        }
    }

    // Limits count characters as people do (a surrogate pair is one); checking Length first keeps the common case cheap.
    private static int CharacterCount(string value) => value.Length <= MetadataMaxKeyLength ? value.Length : value.EnumerateRunes().Count();

    private static void NonNegative(long? value, string path)
    {
        if (value < 0)
        {
            throw Invalid(path, ChatCompletionValidationRule.OutOfRange, $"is {value}, but token counts cannot be negative");
        }
    }

    private static T Required<T>(T? value, string path)
        where T : class =>
        value ?? throw Invalid(path, ChatCompletionValidationRule.Required, "is required");

    /// <summary>
    /// Why a completion that passed <see cref="Validate"/> still could not be written as JSON or stored as jsonb, named by
    /// field: nesting past the serializer's depth limit, a member name twice in one object, an extension member named
    /// like a typed one (jsonb keeps only one of two equal names, so the completion would not read back as it was), a
    /// number past PostgreSQL's <c>numeric</c>, or a floating-point value JSON cannot spell (NaN, infinity).
    /// </summary>
    internal static ChatCompletionValidationException Unwritable(ChatCompletion completion, Exception? error) =>
        Structure(completion, "$", 0) ?? new("$", ChatCompletionValidationRule.InvalidValue, "cannot be written as JSON", error);

    private static ChatCompletionValidationException? Structure(object? value, string path, int depth)
    {
        if (value is WireObject or JsonElement { ValueKind: JsonValueKind.Object or JsonValueKind.Array } or IEnumerable and not string && ++depth > MaxDepth)
        {
            return Invalid(path, ChatCompletionValidationRule.TooLarge, $"nests deeper than {MaxDepth} levels");
        }

        switch (value)
        {
            case JsonElement { ValueKind: JsonValueKind.Number } number when !JsonbNumber.IsStorable(JsonMarshal.GetRawUtf8Value(number)):
                return Invalid(path, ChatCompletionValidationRule.OutOfRange, "is a number past what PostgreSQL's numeric holds (131072 digits before the point, 16383 after)");
            case double or float when !double.IsFinite(Convert.ToDouble(value, System.Globalization.CultureInfo.InvariantCulture)):
                return Invalid(path, ChatCompletionValidationRule.OutOfRange, "is NaN or infinite, which JSON cannot hold");
            case JsonElement { ValueKind: JsonValueKind.Object } element:
                var names = new HashSet<string>(StringComparer.Ordinal);
                foreach (var member in element.EnumerateObject())
                {
                    if (!names.Add(member.Name))
                    {
                        return Invalid(Member(path, member.Name), ChatCompletionValidationRule.MalformedJson, "repeats a member name of its object");
                    }

                    if (Structure(member.Value, Member(path, member.Name), depth) is { } inner)
                    {
                        return inner;
                    }
                }

                return null;
            case JsonElement { ValueKind: JsonValueKind.Array } element:
                var at = 0;
                foreach (var item in element.EnumerateArray())
                {
                    if (Structure(item, $"{path}[{at++}]", depth) is { } inner)
                    {
                        return inner;
                    }
                }

                return null;
            case ChatMessageContent { Parts: { } parts }:
                return Structure(parts, path, depth);
            case WireObject wire:
                foreach (var property in WireJson.Options.GetTypeInfo(wire.GetType()).Properties)
                {
                    if (!property.IsExtensionData && property.Get is { } get && Structure(get(wire), Member(path, property.Name), depth) is { } inner)
                    {
                        return inner;
                    }
                }

                foreach (var (name, element) in wire.AdditionalProperties ?? EmptyExtras)
                {
                    if (WireJson.IsKnownMember(wire.GetType(), name))
                    {
                        return Invalid(Member(path, name), ChatCompletionValidationRule.InvalidValue, "is an extension member with the name of a typed member");
                    }

                    if (Structure(element, Member(path, name), depth) is { } inner)
                    {
                        return inner;
                    }
                }

                return null;
            case IEnumerable items and not string and not IDictionary<string, string>:
                var index = 0;
                foreach (var item in items)
                {
                    if (Structure(item, $"{path}[{index++}]", depth) is { } inner)
                    {
                        return inner;
                    }
                }

                return null;
            default:
                return null;
        }
    }

    // The same walk as Strings, without paths. JSON values are judged on their raw UTF-8: NUL and lone surrogates
    // can only appear there as \u escapes or as invalid UTF-8, so a value with neither needs no closer look.
    private static bool HasUnstorableText(object? value)
    {
        switch (value)
        {
            case string text:
                return FindUnstorable(text) >= 0;
            case ChatMessageContent content:
                return (content.Text is { } contentText && FindUnstorable(contentText) >= 0) || (content.Parts is { } parts && HasUnstorableText(parts));
            case JsonElement element:
                return HasUnstorableText(element);
            case IDictionary<string, string> map:
                foreach (var (key, item) in map)
                {
                    if (FindUnstorable(key) >= 0 || (item is not null && FindUnstorable(item) >= 0))
                    {
                        return true;
                    }
                }

                return false;
            case WireObject wire:
                foreach (var property in WireJson.Options.GetTypeInfo(wire.GetType()).Properties)
                {
                    if (!property.IsExtensionData && property.Get is { } get && HasUnstorableText(get(wire)))
                    {
                        return true;
                    }
                }

                foreach (var (name, element) in wire.AdditionalProperties ?? EmptyExtras)
                {
                    if (FindUnstorable(name) >= 0 || HasUnstorableText(element))
                    {
                        return true;
                    }
                }

                return false;
            case IEnumerable items and not IEnumerable<int>:
                foreach (var item in items)
                {
                    if (HasUnstorableText(item))
                    {
                        return true;
                    }
                }

                return false;
            default:
                return false;
        }
    }

    // Npgsql writes DateTimeOffset.MinValue as -infinity, which reads back as MinValue but sorts, filters and
    // computes in SQL as no date does; every later second is stored as itself.
    private static void Timestamp(DateTimeOffset value, string path)
    {
        if (value == DateTimeOffset.MinValue)
        {
            throw Invalid(path, ChatCompletionValidationRule.OutOfRange, "is 0001-01-01T00:00:00Z (DateTimeOffset.MinValue), which PostgreSQL would receive as -infinity; the next second is the earliest storable");
        }
    }

    private static bool HasUnstorableText(JsonElement element)
    {
        if (element.ValueKind == JsonValueKind.Undefined)
        {
            return false;
        }

        var raw = JsonMarshal.GetRawUtf8Value(element);
        return raw.IndexOf("\\u"u8) >= 0 || !Utf8.IsValid(raw);
    }

    // Walks a wire object through the serializer's own contract, so every member the writer would emit is seen.
    private static void Strings(object? value, string path)
    {
        switch (value)
        {
            case null:
                return;
            case string text:
                Text(text, path);
                return;
            case ChatMessageContent content:
                Text(content.Text, path);
                if (content.Parts is { } parts)
                {
                    Json(parts, path);
                }

                return;
            case JsonElement element:
                Json(element, path);
                return;
            case IDictionary<string, string> map:
                foreach (var (key, item) in map)
                {
                    Text(key, Member(path, key));
                    Text(item, Member(path, key));
                }

                return;
            case WireObject wire:
                foreach (var property in WireJson.Options.GetTypeInfo(wire.GetType()).Properties)
                {
                    if (!property.IsExtensionData && property.Get is { } get)
                    {
                        Strings(get(wire), Member(path, property.Name));
                    }
                }

                foreach (var (name, element) in wire.AdditionalProperties ?? EmptyExtras)
                {
                    Text(name, Member(path, name));
                    Json(element, Member(path, name));
                }

                return;
            case IEnumerable items and not IEnumerable<int>:
                var index = 0;
                foreach (var item in items)
                {
                    Strings(item, $"{path}[{index++}]");
                }

                return;
        }
    }

    private static void Json(JsonElement element, string path)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var member in element.EnumerateObject())
                {
                    var name = MemberName(member, path);
                    Text(name, Member(path, name));
                    Json(member.Value, Member(path, name));
                }

                break;
            case JsonValueKind.Array:
                var index = 0;
                foreach (var item in element.EnumerateArray())
                {
                    Json(item, $"{path}[{index++}]");
                }

                break;
            case JsonValueKind.String:
                string? text;
                try
                {
                    text = element.GetString();
                }
                catch (InvalidOperationException e)
                {
                    throw Invalid(path, ChatCompletionValidationRule.LoneSurrogate, "is not valid UTF-16 text (a lone surrogate)", e);
                }

                Text(text, path);
                break;
        }
    }

    private static void Text(string? value, string path)
    {
        if (value is null || FindUnstorable(value) is not (>= 0 and var i))
        {
            return;
        }

        throw value[i] == '\0'
            ? Invalid(path, ChatCompletionValidationRule.NulCharacter, $"holds U+0000 at character {i}, which PostgreSQL cannot store")
            : Invalid(path, ChatCompletionValidationRule.LoneSurrogate, $"holds a lone surrogate U+{(int)value[i]:X4} at character {i}");
    }

    // The position of the first NUL or lone surrogate, or -1: two vectorized scans, then a walk from the first surrogate.
    private static int FindUnstorable(string value)
    {
        var span = value.AsSpan();
        var nul = span.IndexOf('\0');
        var surrogate = span.IndexOfAnyInRange('\uD800', '\uDFFF');
        if (surrogate < 0)
        {
            return nul;
        }

        var end = nul < 0 ? span.Length : nul;
        for (var i = surrogate; i < end; i++)
        {
            if (char.IsHighSurrogate(span[i]) && i + 1 < span.Length && char.IsLowSurrogate(span[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(span[i]))
            {
                return i;
            }
        }

        return nul;
    }

    // The call is not wire JSON, so the walk over the wire contract below does not reach it.
    private static void Call(ChatCompletionCall call)
    {
        Timestamp(call.StartedAt, "call.started_at");
        if (call.Request is { } request)
        {
            if (HasUnstorableText(request))
            {
                Json(request, "call.request");
            }

            // The request is stored as jsonb without passing the content hash, which checks the completion's numbers and
            // member names, and read back as a JsonElement, which holds the wire format's depth: all checked here.
            if (Structure(request, "call.request", 0) is { } error)
            {
                throw error;
            }
        }

        Text(call.TraceId, "call.trace_id");
        Text(call.SpanId, "call.span_id");
    }

    // A name escaping a lone surrogate cannot be read as a string; decoded leniently, the error can still name it.
    private static string MemberName(JsonProperty member, string path)
    {
        try
        {
            return member.Name;
        }
        catch (InvalidOperationException e)
        {
            var name = Unescape(JsonMarshal.GetRawUtf8PropertyName(member));
            throw Invalid(Member(path, name), ChatCompletionValidationRule.LoneSurrogate, "has a member name that is not valid UTF-16 text (a lone surrogate)", e);
        }
    }

    private static string Unescape(ReadOnlySpan<byte> raw)
    {
        var name = new StringBuilder(raw.Length);
        while (!raw.IsEmpty)
        {
            var escape = raw.IndexOf((byte)'\\');
            name.Append(Encoding.UTF8.GetString(escape < 0 ? raw : raw[..escape]));
            if (escape < 0)
            {
                break;
            }

            if (raw[escape + 1] == (byte)'u')
            {
                name.Append((char)int.Parse(raw.Slice(escape + 2, 4), NumberStyles.HexNumber, CultureInfo.InvariantCulture));
                raw = raw[(escape + 6)..];
            }
            else
            {
                name.Append(raw[escape + 1] switch { (byte)'b' => '\b', (byte)'f' => '\f', (byte)'n' => '\n', (byte)'r' => '\r', (byte)'t' => '\t', var c => (char)c });
                raw = raw[(escape + 2)..];
            }
        }

        return name.ToString();
    }

    private static string Member(string path, string name) => path == "$" ? name : $"{path}.{name}";

    private static ChatCompletionValidationException Invalid(string path, ChatCompletionValidationRule rule, string detail, Exception? inner = null) =>
        new(path, rule, detail, inner);
}

using System.Collections;
using System.Text.Json;

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

    public void Validate(ChatCompletion completion)
    {
        ArgumentNullException.ThrowIfNull(completion);
        Required(completion.Id, "id");
        Required(completion.ObjectType, "object");
        Required(completion.Model, "model");
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
        Strings(completion, "$");
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
                    Text(member.Name, Member(path, member.Name));
                    Json(member.Value, Member(path, member.Name));
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
        if (value is null || (!value.Contains('\0', StringComparison.Ordinal) && value.AsSpan().IndexOfAnyInRange('\uD800', '\uDFFF') < 0))
        {
            return;
        }

        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            if (c == '\0')
            {
                throw Invalid(path, ChatCompletionValidationRule.NulCharacter, $"holds U+0000 at character {i}, which PostgreSQL cannot store");
            }

            if (char.IsHighSurrogate(c) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(c))
            {
                throw Invalid(path, ChatCompletionValidationRule.LoneSurrogate, $"holds a lone surrogate U+{(int)c:X4} at character {i}");
            }
        }
    }

    // The call is not wire JSON, so the walk over the wire contract below does not reach it.
    private static void Call(ChatCompletionCall call)
    {
        if (call.Request is { } request)
        {
            Json(request, "call.request");
        }

        Text(call.TraceId, "call.trace_id");
        Text(call.SpanId, "call.span_id");
    }

    private static string Member(string path, string name) => path == "$" ? name : $"{path}.{name}";

    private static ChatCompletionValidationException Invalid(string path, ChatCompletionValidationRule rule, string detail, Exception? inner = null) =>
        new(path, rule, detail, inner);
}

using System.Text.Json;

namespace Storage.Internal;

/// <summary>
/// Checks a completion against what PostgreSQL can hold and the configured limits, before anything is
/// written, and names the first offending field in wire-format terms.
/// </summary>
internal sealed partial class CompletionValidator(ChatCompletionStoreOptions options)
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

    // Npgsql writes DateTimeOffset.MinValue as -infinity, which reads back as MinValue but sorts, filters and
    // computes in SQL as no date does; every later second is stored as itself.
    private static void Timestamp(DateTimeOffset value, string path)
    {
        if (value == DateTimeOffset.MinValue)
        {
            throw Invalid(path, ChatCompletionValidationRule.OutOfRange, "is 0001-01-01T00:00:00Z (DateTimeOffset.MinValue), which PostgreSQL would receive as -infinity; the next second is the earliest storable");
        }
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

    private static string Member(string path, string name) => path == "$" ? name : $"{path}.{name}";

    private static ChatCompletionValidationException Invalid(string path, ChatCompletionValidationRule rule, string detail, Exception? inner = null) =>
        new(path, rule, detail, inner);
}

using System.Text.Json;
using Storage.Internal;

namespace Storage;

/// <summary>
/// Reads and writes chat completions in the wire format (snake_case JSON) that vendors send. Reading keeps
/// unknown members and explicit nulls, so <c>Serialize(Parse(json))</c> is semantically equal to <c>json</c>.
/// </summary>
public static class ChatCompletionJson
{
    /// <summary>The serializer options of the wire format (read-only), for composing with other System.Text.Json code.</summary>
    public static JsonSerializerOptions Options => WireJson.Options;

    /// <summary>Reads a completion from JSON text (a .NET string, already decoded: lone surrogates are refused by name).</summary>
    /// <exception cref="ChatCompletionValidationException">The JSON is malformed or does not fit the model; names the field.</exception>
    public static ChatCompletion Parse(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        return Read(() => JsonSerializer.Deserialize<ChatCompletion>(json, WireJson.Options));
    }

    /// <summary>
    /// Reads a completion from UTF-8 JSON. Bytes that are not valid UTF-8 are refused, never replaced; a UTF-8 byte order
    /// mark at the start is skipped.
    /// </summary>
    /// <exception cref="ChatCompletionValidationException">
    /// The JSON is malformed (also when it is not valid UTF-8: the message names the line and byte) or does not fit the
    /// model; names the field.
    /// </exception>
    public static ChatCompletion Parse(ReadOnlySpan<byte> utf8Json)
    {
        // System.Text.Json would decode invalid bytes in extensions and member names to U+FFFD without a word.
        Utf8Input.ThrowIfInvalid(utf8Json);
        utf8Json = Utf8Input.WithoutBom(utf8Json);
        try
        {
            return JsonSerializer.Deserialize<ChatCompletion>(utf8Json, WireJson.Options) ?? throw NullDocument();
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            throw Translate(e);
        }
    }

    /// <summary>
    /// Reads a completion from a stream of UTF-8 JSON. Bytes that are not valid UTF-8 are refused, never replaced; a UTF-8
    /// byte order mark at the start is skipped.
    /// </summary>
    /// <exception cref="ChatCompletionValidationException">
    /// The JSON is malformed (also when it is not valid UTF-8: the message names the line and byte) or does not fit the
    /// model; names the field.
    /// </exception>
    public static async ValueTask<ChatCompletion> ParseAsync(Stream utf8Json, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(utf8Json);
        // Checked as it is read, so the stream is not buffered twice; the wrapper leaves the caller's stream open.
        await using var checkedJson = new Utf8ValidatingStream(utf8Json);
        try
        {
            return await JsonSerializer.DeserializeAsync<ChatCompletion>(checkedJson, WireJson.Options, cancellationToken).ConfigureAwait(false)
                ?? throw NullDocument();
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            throw Translate(e);
        }
    }

    /// <summary>Writes a completion as JSON text.</summary>
    public static string Serialize(ChatCompletion completion)
    {
        ArgumentNullException.ThrowIfNull(completion);
        return JsonSerializer.Serialize(completion, WireJson.Options);
    }

    /// <summary>Writes a completion to a JSON writer.</summary>
    public static void Serialize(Utf8JsonWriter writer, ChatCompletion completion)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(completion);
        JsonSerializer.Serialize(writer, completion, WireJson.Options);
    }

    private static ChatCompletion Read(Func<ChatCompletion?> read)
    {
        try
        {
            return read() ?? throw NullDocument();
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            throw Translate(e);
        }
    }

    private static ChatCompletionValidationException NullDocument() =>
        new("$", ChatCompletionValidationRule.Required, "must be a JSON object, not null");

    // The serializer reports the path of the failure; the message tells which kind it was.
    private static ChatCompletionValidationException Translate(Exception e)
    {
        var path = FieldPath((e as JsonException)?.Path);
        switch (e)
        {
            case WireRuleException rule:
                return new(path, rule.Rule, FirstSentence(rule.Message), e);
            case JsonException { Message: var message } when message.Contains("missing required properties", StringComparison.Ordinal):
                var missing = message[(message.IndexOf("including:", StringComparison.Ordinal) + "including:".Length)..].Trim().TrimEnd('.');
                var first = missing.Split(',')[0].Trim().Trim('\'');
                return new(path == "$" ? first : $"{path}.{first}", ChatCompletionValidationRule.Required, "is required but missing", e);
            case JsonException { Message: var message } when message.Contains("doesn't allow", StringComparison.Ordinal):
                return new(path, ChatCompletionValidationRule.Required, "is required and cannot be null", e);
            case JsonException { InnerException: InvalidOperationException { Message: var inner } } when inner.Contains("UTF-16", StringComparison.Ordinal):
                return new(path, ChatCompletionValidationRule.LoneSurrogate, "is not valid UTF-16 text (a lone surrogate)", e);
            case JsonException { InnerException: InvalidOperationException } or InvalidOperationException:
                return new(path, ChatCompletionValidationRule.InvalidValue, "has a value of the wrong type", e);
            case JsonException { Message: var message } when message.Contains("could not be converted", StringComparison.Ordinal):
                return new(path, ChatCompletionValidationRule.InvalidValue, "has a value of the wrong type or range", e);
            default:
                return new(path, ChatCompletionValidationRule.MalformedJson, "is not well-formed JSON", e);
        }
    }

    private static string FieldPath(string? jsonPath) =>
        string.IsNullOrEmpty(jsonPath) || jsonPath == "$" ? "$" : jsonPath.StartsWith("$.", StringComparison.Ordinal) ? jsonPath[2..] : jsonPath;

    private static string FirstSentence(string message)
    {
        var end = message.IndexOf(" Path:", StringComparison.Ordinal);
        return end < 0 ? message : message[..end];
    }
}

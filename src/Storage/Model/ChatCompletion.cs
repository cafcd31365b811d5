using System.Text.Json.Serialization;
using Storage.Internal;

namespace Storage;

/// <summary>
/// A chat completion as an OpenAI-compatible vendor returns it (<c>object: "chat.completion"</c>).
/// Read it from wire JSON with <see cref="ChatCompletionJson.Parse(string)"/>, or build it in code.
/// </summary>
public sealed class ChatCompletion : WireObject
{
    /// <summary>The vendor's id. Not unique across vendors or even within one (Ollama reuses short ids; some send <c>""</c>).</summary>
    public required string Id { get; set; }

    /// <summary>The object type (the wire's <c>object</c>), <c>chat.completion</c> for every known vendor.</summary>
    [JsonPropertyName("object")]
    public required string ObjectType { get; set; }

    /// <summary>
    /// When the completion was created, as Unix seconds on the wire. Stored in UTC with one-second
    /// resolution, as on the wire: a sub-second part is dropped when set.
    /// </summary>
    [JsonConverter(typeof(UnixSecondsConverter))]
    public required DateTimeOffset Created
    {
        get;
        set => field = UnixSecondsConverter.Normalize(value);
    }

    /// <summary>The model that produced the completion, as the vendor names it.</summary>
    public required string Model { get; set; }

    /// <summary>The choices, one per requested completion (<c>n</c>).</summary>
    public required IList<ChatChoice> Choices { get; set; }

    /// <summary>Token usage, when the vendor reports it.</summary>
    public ChatUsage? Usage { get; set; }

    /// <summary>The service tier the vendor used (an open set of strings: <c>default</c>, <c>flex</c>, <c>on_demand</c>, …).</summary>
    public string? ServiceTier { get; set; }

    /// <summary>The backend configuration fingerprint (deprecated by OpenAI; kept as sent).</summary>
    public string? SystemFingerprint { get; set; }

    /// <summary>
    /// Your key/value pairs for filtering stored completions (OpenAI's limits: 16 pairs, keys up to 64 and
    /// values up to 512 characters, enforced when <see cref="ChatCompletionStoreOptions.ValidateMetadata"/> is on).
    /// </summary>
    public IDictionary<string, string>? Metadata { get; set; }

    /// <summary>
    /// The call that produced this completion (request, timings, trace), stored beside it when set and read back with
    /// it; not part of the wire JSON.
    /// </summary>
    [JsonIgnore]
    public ChatCompletionCall? Call { get; set; }
}

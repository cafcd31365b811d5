using System.Text.Json;
using System.Text.Json.Serialization;
using Storage.Internal;

namespace Storage;

/// <summary>
/// Message content: a string, or any other JSON value, in practice an array of typed parts such as
/// Mistral's <c>{"type":"text","text":…}</c> and <c>{"type":"thinking",…}</c> chunks.
/// </summary>
[JsonConverter(typeof(ChatMessageContentConverter))]
public sealed class ChatMessageContent
{
    /// <summary>Content given as a string.</summary>
    public ChatMessageContent(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        Text = text;
    }

    /// <summary>Content given as parts (or any JSON value other than a string or <c>null</c>).</summary>
    public ChatMessageContent(JsonElement parts)
    {
        if (parts.ValueKind is JsonValueKind.String or JsonValueKind.Null or JsonValueKind.Undefined)
        {
            throw new ArgumentException("Parts must be a JSON array or object; use the string constructor for text.", nameof(parts));
        }

        Parts = parts.Clone();
    }

    /// <summary>The content when it is a string; otherwise <c>null</c>.</summary>
    public string? Text { get; }

    /// <summary>The content when it is not a string; otherwise <c>null</c>.</summary>
    public JsonElement? Parts { get; }

    /// <summary>Content from a string.</summary>
    public static implicit operator ChatMessageContent(string text) => new(text);

    /// <summary>The text, or the parts' JSON.</summary>
    public override string ToString() => Text ?? Parts!.Value.GetRawText();
}

using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Storage.Internal;

/// <summary>
/// Pages the input messages of a stored request in the shape of OpenAI's <c>GET /v1/chat/completions/{id}/messages</c>.
/// A message's id is its position in the request (<c>{completion id}-{index}</c>), as OpenAI's are.
/// </summary>
internal static class RequestMessages
{
    public static ChatCompletionMessagePage Page(string completionId, JsonElement? request, string? after, int limit, ChatCompletionOrder order)
    {
        var messages = request is { ValueKind: JsonValueKind.Object } body
            && body.TryGetProperty("messages", out var list)
            && list.ValueKind == JsonValueKind.Array
                ? list.EnumerateArray().ToList()
                : [];
        var positions = Enumerable.Range(0, messages.Count);
        if (order == ChatCompletionOrder.Descending)
        {
            positions = positions.Reverse();
        }

        if (after is not null)
        {
            var afterIndex = IndexOf(completionId, after, messages.Count) ?? throw new ChatCompletionNotFoundException(after, nameof(after));
            positions = positions.SkipWhile(i => i != afterIndex).Skip(1);
        }

        var page = positions.Take(limit + 1).ToList();
        var items = page.Take(limit).Select(i => Item($"{completionId}-{i.ToString(CultureInfo.InvariantCulture)}", messages[i])).ToList();
        return new ChatCompletionMessagePage(items, page.Count > limit);
    }

    private static int? IndexOf(string completionId, string messageId, int count) =>
        messageId.Length > completionId.Length + 1
        && messageId.StartsWith(completionId, StringComparison.Ordinal)
        && messageId[completionId.Length] == '-'
        && int.TryParse(messageId.AsSpan(completionId.Length + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var index)
        && index < count
            ? index
            : null;

    // OpenAI lists content as text and, when the message gave an array of parts, the parts beside it; every other
    // member of the message (tool_calls, tool_call_id, vendor extensions) is kept as it was sent.
    private static JsonElement Item(string id, JsonElement message)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("id", id);
            var isObject = message.ValueKind == JsonValueKind.Object;
            WriteMember(writer, "role", isObject && message.TryGetProperty("role", out var role) ? role : null);
            var content = isObject && message.TryGetProperty("content", out var value) ? value : (JsonElement?)null;
            if (content is { ValueKind: JsonValueKind.Array } parts)
            {
                writer.WriteString("content", TextOf(parts));
                writer.WritePropertyName("content_parts");
                parts.WriteTo(writer);
            }
            else
            {
                WriteMember(writer, "content", content);
                writer.WriteNull("content_parts");
            }

            WriteMember(writer, "name", isObject && message.TryGetProperty("name", out var name) ? name : null);
            if (isObject)
            {
                foreach (var member in message.EnumerateObject().Where(m => m.Name is not ("role" or "content" or "name" or "id" or "content_parts")))
                {
                    member.WriteTo(writer);
                }
            }

            writer.WriteEndObject();
        }

        return JsonElement.Parse(buffer.WrittenSpan);
    }

    private static string TextOf(JsonElement parts)
    {
        var text = new StringBuilder();
        foreach (var part in parts.EnumerateArray())
        {
            if (part.ValueKind == JsonValueKind.Object && part.TryGetProperty("text", out var value) && value.ValueKind == JsonValueKind.String)
            {
                text.Append(value.GetString());
            }
        }

        return text.ToString();
    }

    private static void WriteMember(Utf8JsonWriter writer, string name, JsonElement? value)
    {
        writer.WritePropertyName(name);
        if (value is { } element)
        {
            element.WriteTo(writer);
        }
        else
        {
            writer.WriteNullValue();
        }
    }
}

using System.Buffers;
using System.Text;
using System.Text.Json;

namespace Storage.Internal;

/// <summary>
/// A stored completion with its request as a line of OpenAI's chat fine-tuning JSONL, or of an evaluation set: the request's
/// messages as sent, then what the assistant answered in choice 0.
/// </summary>
internal static class TrainingLines
{
    public const string NoRequest = "no stored request";
    public const string NoMessages = "the stored request has no messages";
    public const string NoAnswer = "choice 0 has neither content nor function tool calls";

    // What the fine-tuning format takes over from the request beside its messages.
    private static readonly string[] RequestMembers = ["tools", "parallel_tool_calls"];

    /// <summary>
    /// <c>{"messages": [request messages…, {"role": "assistant", "content", "tool_calls"}], "tools", "parallel_tool_calls"}</c>:
    /// <c>tools</c> and <c>parallel_tool_calls</c> only when the request had them. Only function tool calls are kept (the
    /// format has no custom tools), each with its arguments as the JSON string the vendor sent.
    /// </summary>
    public static ChatCompletionExportLine FineTuning(ChatCompletion completion)
    {
        if (Messages(completion, out var request) is { } skipped)
        {
            return new ChatCompletionExportLine(completion.Id, null, skipped);
        }

        var message = completion.Choices.OrderBy(c => c.Index).FirstOrDefault()?.Message;
        var content = message is null ? null : Text(message.Content);
        var calls = message?.ToolCalls?.Where(call => call.Function is not null).ToList() ?? [];
        if (content is null && calls.Count == 0)
        {
            return new ChatCompletionExportLine(completion.Id, null, NoAnswer);
        }

        return new ChatCompletionExportLine(completion.Id, Write(writer =>
        {
            writer.WriteStartObject();
            writer.WriteStartArray("messages");
            foreach (var sent in request.GetProperty("messages").EnumerateArray())
            {
                sent.WriteTo(writer);
            }

            writer.WriteStartObject();
            writer.WriteString("role", "assistant");
            if (content is null)
            {
                writer.WriteNull("content");
            }
            else
            {
                writer.WriteString("content", content);
            }

            if (calls.Count > 0)
            {
                writer.WriteStartArray("tool_calls");
                foreach (var call in calls)
                {
                    writer.WriteStartObject();
                    writer.WriteString("id", call.Id);
                    writer.WriteString("type", "function");
                    writer.WriteStartObject("function");
                    writer.WriteString("name", call.Function!.Name);
                    writer.WriteString("arguments", call.Function.Arguments ?? "{}");
                    writer.WriteEndObject();
                    writer.WriteEndObject();
                }

                writer.WriteEndArray();
            }

            writer.WriteEndObject();
            writer.WriteEndArray();
            foreach (var name in RequestMembers)
            {
                if (request.TryGetProperty(name, out var value))
                {
                    writer.WritePropertyName(name);
                    value.WriteTo(writer);
                }
            }

            writer.WriteEndObject();
        }), null);
    }

    /// <summary>
    /// <c>{"item": {"input": [request messages…], "ideal": the assistant's content}, "completion_id", "model", "metadata"}</c>;
    /// <c>ideal</c> is <c>null</c> when choice 0 said nothing in text (a tool call only).
    /// </summary>
    public static ChatCompletionExportLine Eval(ChatCompletion completion)
    {
        if (Messages(completion, out var request) is { } skipped)
        {
            return new ChatCompletionExportLine(completion.Id, null, skipped);
        }

        var ideal = Text(completion.Choices.OrderBy(c => c.Index).FirstOrDefault()?.Message.Content);
        return new ChatCompletionExportLine(completion.Id, Write(writer =>
        {
            writer.WriteStartObject();
            writer.WriteStartObject("item");
            writer.WritePropertyName("input");
            request.GetProperty("messages").WriteTo(writer);
            if (ideal is null)
            {
                writer.WriteNull("ideal");
            }
            else
            {
                writer.WriteString("ideal", ideal);
            }

            writer.WriteEndObject();
            writer.WriteString("completion_id", completion.Id);
            writer.WriteString("model", completion.Model);
            writer.WriteStartObject("metadata");
            foreach (var (key, value) in completion.Metadata ?? new Dictionary<string, string>())
            {
                writer.WriteString(key, value);
            }

            writer.WriteEndObject();
            writer.WriteEndObject();
        }), null);
    }

    private static string? Messages(ChatCompletion completion, out JsonElement request)
    {
        request = default;
        if (completion.Call?.Request is not { } stored)
        {
            return NoRequest;
        }

        request = stored;
        return stored.ValueKind == JsonValueKind.Object && stored.TryGetProperty("messages", out var messages)
            && messages.ValueKind == JsonValueKind.Array && messages.GetArrayLength() > 0
            ? null
            : NoMessages;
    }

    /// <summary>The content as text: the text itself, or its text parts joined; <c>null</c> when there is none.</summary>
    private static string? Text(ChatMessageContent? content)
    {
        if (content?.Text is { } text)
        {
            return text;
        }

        if (content?.Parts is not { ValueKind: JsonValueKind.Array } parts)
        {
            return null;
        }

        var texts = parts.EnumerateArray()
            .Where(part => part.ValueKind == JsonValueKind.Object && part.TryGetProperty("text", out var value) && value.ValueKind == JsonValueKind.String)
            .Select(part => part.GetProperty("text").GetString()!)
            .ToList();
        return texts.Count == 0 ? null : string.Concat(texts);
    }

    private static string Write(Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = WireJson.Options.Encoder }))
        {
            write(writer);
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}

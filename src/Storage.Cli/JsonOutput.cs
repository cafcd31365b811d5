using System.Buffers;
using System.Text;
using System.Text.Json;

namespace Storage.Cli;

/// <summary>Writes the commands' JSON results: indented for people, except export, which writes JSON Lines.</summary>
internal static class JsonOutput
{
    private static readonly JsonWriterOptions Indented = new() { Indented = true, Encoder = ChatCompletionJson.Options.Encoder };

    public static Task WriteCompletionAsync(TextWriter output, ChatCompletion completion, CancellationToken cancellationToken) =>
        WriteAsync(output, json => ChatCompletionJson.Serialize(json, completion), cancellationToken);

    /// <summary>Writes a page in OpenAI's list shape.</summary>
    public static Task WritePageAsync(TextWriter output, ChatCompletionPage page, CancellationToken cancellationToken) =>
        WriteAsync(output, json =>
        {
            json.WriteStartObject();
            json.WriteString("object", "list");
            json.WriteStartArray("data");
            foreach (var completion in page.Items)
            {
                ChatCompletionJson.Serialize(json, completion);
            }

            json.WriteEndArray();
            json.WriteString("first_id", page.FirstId);
            json.WriteString("last_id", page.LastId);
            json.WriteBoolean("has_more", page.HasMore);
            json.WriteEndObject();
        }, cancellationToken);

    /// <summary>Writes OpenAI's answer to a delete.</summary>
    public static Task WriteDeletedAsync(TextWriter output, string id, CancellationToken cancellationToken) =>
        WriteAsync(output, json =>
        {
            json.WriteStartObject();
            json.WriteString("id", id);
            json.WriteString("object", "chat.completion.deleted");
            json.WriteBoolean("deleted", true);
            json.WriteEndObject();
        }, cancellationToken);

    public static async Task WriteAsync(TextWriter output, Action<Utf8JsonWriter> write, CancellationToken cancellationToken)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer, Indented))
        {
            write(json);
        }

        await output.WriteLineAsync(Encoding.UTF8.GetString(buffer.WrittenSpan).AsMemory(), cancellationToken);
    }
}

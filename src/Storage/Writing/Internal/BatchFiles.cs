using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using System.Text.Json;

namespace Storage.Internal;

/// <summary>
/// Reads OpenAI Batch API files: the input (<c>{"custom_id", "method", "url", "body"}</c> a line, the body being the
/// request) and the output (<c>{"id", "custom_id", "response": {"status_code", "request_id", "body"}, "error"}</c> a line,
/// the body being the completion). The output's lines come in any order, so the requests are read first and kept by
/// <c>custom_id</c>.
/// </summary>
internal static class BatchFiles
{
    /// <summary>One output line: the completion with its request as the call, or why there is none.</summary>
    public readonly record struct OutputLine(long Number, string? CustomId, ChatCompletion? Completion, string? Error);

    /// <summary>
    /// The request body of every input line by its <c>custom_id</c>. A line without a <c>custom_id</c> or a <c>body</c>
    /// object cannot be joined and is left out; its output line is then reported as having no request.
    /// </summary>
    public static async Task<Dictionary<string, JsonElement>> ReadRequestsAsync(Stream input, CancellationToken cancellationToken)
    {
        var requests = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        var reader = PipeReader.Create(input, new StreamPipeReaderOptions(bufferSize: 64 * 1024, leaveOpen: true));
        try
        {
            await foreach (var line in JsonLines.ReadAsync(reader, cancellationToken).ConfigureAwait(false))
            {
                try
                {
                    using var document = JsonDocument.Parse(line.Bytes);
                    var root = document.RootElement;
                    if (root.ValueKind == JsonValueKind.Object
                        && root.TryGetProperty("custom_id", out var id) && id.ValueKind == JsonValueKind.String
                        && root.TryGetProperty("body", out var body) && body.ValueKind == JsonValueKind.Object)
                    {
                        requests[id.GetString()!] = body.Clone();
                    }
                }
                catch (JsonException)
                {
                    // Not JSON: nothing to join it by.
                }
            }
        }
        finally
        {
            await reader.CompleteAsync().ConfigureAwait(false);
        }

        return requests;
    }

    /// <summary>The output's lines joined with their requests, in file order.</summary>
    public static async IAsyncEnumerable<OutputLine> ReadOutputAsync(
        Stream output, IReadOnlyDictionary<string, JsonElement> requests, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var reader = PipeReader.Create(output, new StreamPipeReaderOptions(bufferSize: 64 * 1024, leaveOpen: true));
        try
        {
            await foreach (var line in JsonLines.ReadAsync(reader, cancellationToken).ConfigureAwait(false))
            {
                yield return Join(line, requests);
            }
        }
        finally
        {
            await reader.CompleteAsync().ConfigureAwait(false);
        }
    }

    private static OutputLine Join(JsonLines.Line line, IReadOnlyDictionary<string, JsonElement> requests)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(line.Bytes);
        }
        catch (JsonException e)
        {
            return new OutputLine(line.Number, null, null, $"is not JSON ({e.Message})");
        }

        using (document)
        {
            return Join(line.Number, document.RootElement, requests);
        }
    }

    private static OutputLine Join(long number, JsonElement root, IReadOnlyDictionary<string, JsonElement> requests)
    {

        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("custom_id", out var idElement) || idElement.ValueKind != JsonValueKind.String)
        {
            return new OutputLine(number, null, null, "custom_id: missing or not a string");
        }

        var id = idElement.GetString()!;
        if (root.TryGetProperty("error", out var error) && error.ValueKind != JsonValueKind.Null)
        {
            return new OutputLine(number, id, null, $"error: {Describe(error)}");
        }

        if (!root.TryGetProperty("response", out var response) || response.ValueKind != JsonValueKind.Object
            || !response.TryGetProperty("status_code", out var status) || !status.TryGetInt32(out var code))
        {
            return new OutputLine(number, id, null, "response.status_code: missing or not an integer");
        }

        if (code != 200)
        {
            var body = response.TryGetProperty("body", out var failed) && failed.ValueKind == JsonValueKind.Object && failed.TryGetProperty("error", out var reason)
                ? $": {Describe(reason)}"
                : "";
            return new OutputLine(number, id, null, $"response.status_code: {code}{body}");
        }

        if (!requests.TryGetValue(id, out var request))
        {
            return new OutputLine(number, id, null, "custom_id: no input line has it");
        }

        if (!response.TryGetProperty("body", out var completionJson) || completionJson.ValueKind != JsonValueKind.Object)
        {
            return new OutputLine(number, id, null, "response.body: missing or not an object");
        }

        ChatCompletion completion;
        try
        {
            // The body's own bytes, so the validator sees exactly what the file holds.
            completion = ChatCompletionJson.Parse(System.Runtime.InteropServices.JsonMarshal.GetRawUtf8Value(completionJson));
        }
        catch (ChatCompletionValidationException e)
        {
            return new OutputLine(number, id, null, $"response.body: {e.Message}");
        }

        // A batch says nothing of when its request was sent: the completion's created is the nearest known instant.
        completion.Call = new ChatCompletionCall { StartedAt = completion.Created, Request = request };
        return new OutputLine(number, id, completion, null);
    }

    // An error object's code and message (OpenAI's shape), else its JSON.
    private static string Describe(JsonElement error) =>
        error.ValueKind == JsonValueKind.Object && error.TryGetProperty("message", out var message) && message.ValueKind == JsonValueKind.String
            ? (error.TryGetProperty("code", out var code) && code.ValueKind == JsonValueKind.String ? $"{code.GetString()}: " : "") + message.GetString()
            : error.GetRawText();
}

using System.Text.Json;

namespace Storage.Api.Endpoints;

/// <summary>A JSON response written straight to the response body with a <see cref="Utf8JsonWriter"/>, so wire JSON is written as the library serializes it.</summary>
internal sealed class JsonWriterResult(Action<Utf8JsonWriter> write, int statusCode = StatusCodes.Status200OK) : IResult
{
    /// <summary>The escaping of the wire format (<see cref="ChatCompletionJson.Options"/>): text as it is, not \u-escaped for HTML.</summary>
    public static readonly JsonWriterOptions Options = new() { Encoder = ChatCompletionJson.Options.Encoder };

    public async Task ExecuteAsync(HttpContext httpContext)
    {
        var response = httpContext.Response;
        response.StatusCode = statusCode;
        response.ContentType = "application/json";
        await using var writer = new Utf8JsonWriter(response.BodyWriter, Options);
        write(writer);
        await writer.FlushAsync(httpContext.RequestAborted);
    }

    /// <summary>A completion in the wire format.</summary>
    public static JsonWriterResult Completion(ChatCompletion completion) => new(writer => ChatCompletionJson.Serialize(writer, completion));

    /// <summary>A list page in OpenAI's envelope: <c>{"object":"list","data","first_id","last_id","has_more"}</c>.</summary>
    public static JsonWriterResult List<T>(IReadOnlyList<T> items, string? firstId, string? lastId, bool hasMore, Action<Utf8JsonWriter, T> writeItem) =>
        new(writer =>
        {
            writer.WriteStartObject();
            writer.WriteString("object", "list");
            writer.WriteStartArray("data");
            foreach (var item in items)
            {
                writeItem(writer, item);
            }

            writer.WriteEndArray();
            writer.WriteString("first_id", firstId);
            writer.WriteString("last_id", lastId);
            writer.WriteBoolean("has_more", hasMore);
            writer.WriteEndObject();
        });
}

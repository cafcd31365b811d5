using System.Globalization;
using System.Text.Json;
using Storage.Api.Authentication;
using Storage.Api.Errors;

namespace Storage.Api.Endpoints;

/// <summary>
/// OpenAI's stored-completions API over the caller's store view: list, retrieve, update metadata, delete, and the
/// stored request's messages, with OpenAI's JSON shapes and query parameters.
/// </summary>
internal static class StoredCompletionEndpoints
{
    private const string MetadataPrefix = "metadata[";

    public static void Map(IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v1/chat/completions").WithTags("Stored completions");
        group.MapGet("", ListAsync)
            .WithName("ListChatCompletions")
            .WithSummary("Lists stored completions, newest first by default.")
            .WithDescription("Filters: model, metadata[KEY]=VALUE (every pair must match); beyond OpenAI's: search (text, any case, in what was said "
                + "and asked), finish_reason, tool, has_tool_calls (true or false), service_tier, min_tokens and max_tokens (total tokens), "
                + "min_latency_ms and max_latency_ms. Paging: after (the previous page's last_id), limit (1-100, default 20), order (asc or desc).")
            .Produces(StatusCodes.Status200OK, contentType: "application/json");
        group.MapGet("/{id}", GetAsync)
            .WithName("GetChatCompletion")
            .WithSummary("Gets a stored completion.")
            .Produces(StatusCodes.Status200OK, contentType: "application/json")
            .Produces(StatusCodes.Status404NotFound, contentType: "application/json");
        group.MapPost("/{id}", UpdateAsync)
            .WithName("UpdateChatCompletion")
            .WithSummary("Replaces a stored completion's metadata with the body's {\"metadata\": {...}}.")
            .Accepts<JsonElement>("application/json")
            .Produces(StatusCodes.Status200OK, contentType: "application/json")
            .Produces(StatusCodes.Status404NotFound, contentType: "application/json");
        group.MapDelete("/{id}", DeleteAsync)
            .WithName("DeleteChatCompletion")
            .WithSummary("Deletes a stored completion.")
            .Produces(StatusCodes.Status200OK, contentType: "application/json")
            .Produces(StatusCodes.Status404NotFound, contentType: "application/json");
        group.MapGet("/{id}/messages", ListMessagesAsync)
            .WithName("GetChatCompletionMessages")
            .WithSummary("Lists the input messages of a stored completion's request, oldest first by default.")
            .Produces(StatusCodes.Status200OK, contentType: "application/json")
            .Produces(StatusCodes.Status404NotFound, contentType: "application/json");
    }

    private static async Task<IResult> ListAsync(HttpRequest request, Caller caller, CancellationToken cancellationToken)
    {
        var query = request.Query;
        Dictionary<string, string>? metadata = null;
        foreach (var (key, values) in query)
        {
            if (key.StartsWith(MetadataPrefix, StringComparison.Ordinal) && key.EndsWith(']') && key.Length > MetadataPrefix.Length + 1)
            {
                metadata ??= new Dictionary<string, string>(StringComparer.Ordinal);
                metadata[key[MetadataPrefix.Length..^1]] = values.ToString();
            }
        }

        var filter = new ChatCompletionFilter
        {
            Model = Optional(query["model"]),
            Metadata = metadata,
            Search = Optional(query["search"]),
            FinishReason = Optional(query["finish_reason"]),
            ToolName = Optional(query["tool"]),
            HasToolCalls = Boolean(query["has_tool_calls"], "has_tool_calls"),
            ServiceTier = Optional(query["service_tier"]),
            MinTotalTokens = Count(query["min_tokens"], "min_tokens"),
            MaxTotalTokens = Count(query["max_tokens"], "max_tokens"),
            MinLatency = Count(query["min_latency_ms"], "min_latency_ms") is { } minLatency ? TimeSpan.FromMilliseconds(minLatency) : null,
            MaxLatency = Count(query["max_latency_ms"], "max_latency_ms") is { } maxLatency ? TimeSpan.FromMilliseconds(maxLatency) : null,
        };
        var page = await caller.Store.ListAsync(
            filter, Optional(query["after"]), Limit(query["limit"]), Order(query["order"], ChatCompletionOrder.Descending), cancellationToken);
        return JsonWriterResult.List(page.Items, page.FirstId, page.LastId, page.HasMore, ChatCompletionJson.Serialize);
    }

    private static async Task<IResult> GetAsync(string id, Caller caller, CancellationToken cancellationToken)
    {
        var completion = await caller.Store.GetAsync(id, cancellationToken);
        return completion is null ? NotFound(id) : JsonWriterResult.Completion(completion);
    }

    private static async Task<IResult> UpdateAsync(string id, HttpRequest request, Caller caller, CancellationToken cancellationToken)
    {
        using var body = await JsonDocument.ParseAsync(request.Body, cancellationToken: cancellationToken);
        if (body.RootElement.ValueKind != JsonValueKind.Object || !body.RootElement.TryGetProperty("metadata", out var given))
        {
            throw ApiErrorException.BadRequest("The body must be a JSON object with a 'metadata' member.", "metadata");
        }

        Dictionary<string, string>? metadata = null;
        switch (given.ValueKind)
        {
            case JsonValueKind.Null:
                break;
            case JsonValueKind.Object:
                metadata = new Dictionary<string, string>(StringComparer.Ordinal);
                foreach (var pair in given.EnumerateObject())
                {
                    metadata[pair.Name] = pair.Value.ValueKind == JsonValueKind.String
                        ? pair.Value.GetString()!
                        : throw ApiErrorException.BadRequest($"Metadata values must be strings; '{pair.Name}' is not.", $"metadata.{pair.Name}");
                }

                break;
            default:
                throw ApiErrorException.BadRequest("'metadata' must be an object of strings, or null.", "metadata");
        }

        var updated = await caller.Store.UpdateMetadataAsync(id, metadata, cancellationToken: cancellationToken);
        return JsonWriterResult.Completion(updated.Completion);
    }

    private static async Task<IResult> DeleteAsync(string id, Caller caller, CancellationToken cancellationToken)
    {
        if (!await caller.Store.DeleteAsync(id, cancellationToken))
        {
            return NotFound(id);
        }

        return new JsonWriterResult(writer =>
        {
            writer.WriteStartObject();
            writer.WriteString("object", "chat.completion.deleted");
            writer.WriteString("id", id);
            writer.WriteBoolean("deleted", true);
            writer.WriteEndObject();
        });
    }

    private static async Task<IResult> ListMessagesAsync(string id, HttpRequest request, Caller caller, CancellationToken cancellationToken)
    {
        var query = request.Query;
        var page = await caller.Store.ListMessagesAsync(
            id, Optional(query["after"]), Limit(query["limit"]), Order(query["order"], ChatCompletionOrder.Ascending), cancellationToken);
        return JsonWriterResult.List(page.Items, page.FirstId, page.LastId, page.HasMore, static (writer, item) => item.WriteTo(writer));
    }

    private static ErrorResult NotFound(string id) =>
        new ErrorResult(StatusCodes.Status404NotFound, $"Completion {id} not found", "completion_id", "not_found");

    private static string? Optional(Microsoft.Extensions.Primitives.StringValues value) =>
        value.Count == 0 || string.IsNullOrEmpty(value[0]) ? null : value[0];

    private static int Limit(Microsoft.Extensions.Primitives.StringValues value)
    {
        if (Optional(value) is not { } text)
        {
            return 20;
        }

        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var limit) && limit is >= 1 and <= 100
            ? limit
            : throw ApiErrorException.BadRequest($"Invalid 'limit': '{text}'; expected an integer from 1 to 100.", "limit", "invalid_value");
    }

    private static bool? Boolean(Microsoft.Extensions.Primitives.StringValues value, string name) => Optional(value) switch
    {
        null => null,
        "true" => true,
        "false" => false,
        var text => throw ApiErrorException.BadRequest($"Invalid '{name}': '{text}'; expected 'true' or 'false'.", name, "invalid_value"),
    };

    // A count of tokens or milliseconds: a whole number from 0 up, at most what a TimeSpan holds in milliseconds.
    private static long? Count(Microsoft.Extensions.Primitives.StringValues value, string name)
    {
        if (Optional(value) is not { } text)
        {
            return null;
        }

        return long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var count) && count <= (long)TimeSpan.MaxValue.TotalMilliseconds
            ? count
            : throw ApiErrorException.BadRequest($"Invalid '{name}': '{text}'; expected a whole number from 0 up.", name, "invalid_value");
    }

    private static ChatCompletionOrder Order(Microsoft.Extensions.Primitives.StringValues value, ChatCompletionOrder byDefault) => Optional(value) switch
    {
        null => byDefault,
        "asc" => ChatCompletionOrder.Ascending,
        "desc" => ChatCompletionOrder.Descending,
        var text => throw ApiErrorException.BadRequest($"Invalid 'order': '{text}'; expected 'asc' or 'desc'.", "order", "invalid_value"),
    };
}

using System.Text.Json;

namespace Storage.Internal;

/// <summary>
/// The checks of <see cref="ChatCompletionChunkAssembler"/>: whether a chunk fits the chunk shape, member by member,
/// naming the field that does not. A chunk is checked whole before anything of it is merged (<see cref="ChunkChoice"/>
/// and the assembler merge), so a rejected chunk leaves the assembler as it was.
/// </summary>
internal static class ChunkShape
{
    public static JsonDocument Parse(Func<JsonDocument> parse)
    {
        try
        {
            return parse();
        }
        catch (JsonException e)
        {
            throw new ChatCompletionValidationException("$", ChatCompletionValidationRule.MalformedJson, "is not well-formed JSON", e);
        }
    }

        public static void Validate(JsonElement chunk)
    {
        if (chunk.ValueKind != JsonValueKind.Object)
        {
            throw MergedJsonObject.Invalid("$", "must be a JSON object");
        }

        foreach (var member in chunk.EnumerateObject())
        {
            switch (member.Name)
            {
                case "id" or "model" or "system_fingerprint" or "service_tier":
                    RequireKind(member.Value, member.Name, JsonValueKind.String);
                    break;
                case "created":
                    if (member.Value.ValueKind is not (JsonValueKind.Number or JsonValueKind.Null) || (member.Value.ValueKind == JsonValueKind.Number && !member.Value.TryGetInt64(out _)))
                    {
                        throw MergedJsonObject.Invalid("created", "must be Unix seconds (an integer) or null");
                    }

                    break;
                case "usage":
                    RequireKind(member.Value, "usage", JsonValueKind.Object);
                    break;
                case "choices":
                    RequireKind(member.Value, "choices", JsonValueKind.Array);
                    if (member.Value.ValueKind == JsonValueKind.Array)
                    {
                        var position = 0;
                        foreach (var choice in member.Value.EnumerateArray())
                        {
                            ValidateChoice(choice, $"choices[{position++}]");
                        }
                    }

                    break;
            }
        }
    }

    private static void RequireKind(JsonElement value, string path, JsonValueKind kind)
    {
        if (value.ValueKind != kind && value.ValueKind != JsonValueKind.Null)
        {
            throw MergedJsonObject.Invalid(path, $"must be {(kind == JsonValueKind.Object ? "an object" : kind == JsonValueKind.Array ? "an array" : "a string")} or null");
        }
    }

    private static void ValidateChoice(JsonElement choice, string path)
    {
        if (choice.ValueKind != JsonValueKind.Object)
        {
            throw MergedJsonObject.Invalid(path, "must be an object");
        }

        if (choice.TryGetProperty("index", out var index) && (index.ValueKind != JsonValueKind.Number || !index.TryGetInt32(out var i) || i < 0))
        {
            throw MergedJsonObject.Invalid($"{path}.index", "must be a non-negative integer");
        }

        foreach (var member in choice.EnumerateObject())
        {
            var at = $"{path}.{member.Name}";
            switch (member.Name)
            {
                case "finish_reason":
                    RequireKind(member.Value, at, JsonValueKind.String);
                    break;
                case "logprobs":
                    RequireKind(member.Value, at, JsonValueKind.Object);
                    if (member.Value.ValueKind == JsonValueKind.Object)
                    {
                        foreach (var name in (string[])["content", "refusal"])
                        {
                            if (member.Value.TryGetProperty(name, out var tokens))
                            {
                                RequireKind(tokens, $"{at}.{name}", JsonValueKind.Array);
                            }
                        }
                    }

                    break;
                case "delta" or "message":
                    RequireKind(member.Value, at, JsonValueKind.Object);
                    if (member.Value.ValueKind == JsonValueKind.Object)
                    {
                        ValidateDelta(member.Value, at);
                    }

                    break;
            }
        }
    }

    private static void ValidateDelta(JsonElement delta, string path)
    {
        foreach (var member in delta.EnumerateObject())
        {
            var at = $"{path}.{member.Name}";
            switch (member.Name)
            {
                case "role" or "refusal" or "reasoning" or "reasoning_content":
                    RequireKind(member.Value, at, JsonValueKind.String);
                    break;
                case "content" when member.Value.ValueKind is not (JsonValueKind.String or JsonValueKind.Array or JsonValueKind.Null):
                    throw MergedJsonObject.Invalid(at, "must be a string, an array of parts or null");
                case "annotations":
                    RequireKind(member.Value, at, JsonValueKind.Array);
                    break;
                case "function_call" or "audio":
                    RequireKind(member.Value, at, JsonValueKind.Object);
                    ValidateStrings(member.Value, at, member.Name == "audio" ? ["data", "transcript", "id"] : ["name", "arguments"]);
                    break;
                case "tool_calls":
                    RequireKind(member.Value, at, JsonValueKind.Array);
                    if (member.Value.ValueKind == JsonValueKind.Array)
                    {
                        var position = 0;
                        foreach (var call in member.Value.EnumerateArray())
                        {
                            ValidateToolCall(call, $"{at}[{position++}]");
                        }
                    }

                    break;
            }
        }
    }

    private static void ValidateToolCall(JsonElement call, string path)
    {
        if (call.ValueKind != JsonValueKind.Object)
        {
            throw MergedJsonObject.Invalid(path, "must be an object");
        }

        if (call.TryGetProperty("index", out var index) && (index.ValueKind != JsonValueKind.Number || !index.TryGetInt32(out var i) || i < 0))
        {
            throw MergedJsonObject.Invalid($"{path}.index", "must be a non-negative integer");
        }

        ValidateStrings(call, path, ["id", "type"]);
        foreach (var name in (string[])["function", "custom"])
        {
            if (call.TryGetProperty(name, out var inner))
            {
                RequireKind(inner, $"{path}.{name}", JsonValueKind.Object);
                ValidateStrings(inner, $"{path}.{name}", ["name", "arguments", "input"]);
            }
        }
    }

    private static void ValidateStrings(JsonElement value, string path, string[] names)
    {
        if (value.ValueKind != JsonValueKind.Object)
        {
            return;
        }

        foreach (var name in names)
        {
            if (value.TryGetProperty(name, out var member))
            {
                RequireKind(member, $"{path}.{name}", JsonValueKind.String);
            }
        }
    }
}

using System.Text.Json;

namespace Storage.Internal;

/// <summary>One choice of a streamed completion as its chunks arrive: the merging half of <see cref="ChatCompletionChunkAssembler"/>.</summary>
internal sealed class ChunkChoice(int index)
{
    private readonly MergedJsonObject _choice = new();
    private readonly MergedJsonObject _message = new();
    private readonly SortedDictionary<int, MergedJsonObject> _toolCalls = [];
    private JsonValueKind _toolCallsSent = JsonValueKind.Undefined;

    public void Add(JsonElement choice, string path)
    {
        foreach (var member in choice.EnumerateObject())
        {
            var at = $"{path}.{member.Name}";
            switch (member.Name)
            {
                case "index":
                    break;
                case "finish_reason":
                    _choice.Last(member.Name, member.Value);
                    break;
                case "logprobs":
                    if (_choice.Child(member.Name, member.Value, at) is { } logprobs)
                    {
                        foreach (var part in member.Value.EnumerateObject())
                        {
                            if (part.Name is "content" or "refusal")
                            {
                                logprobs.Append(part.Name, part.Value, $"{at}.{part.Name}");
                            }
                            else
                            {
                                logprobs.Merge(part.Name, part.Value);
                            }
                        }
                    }

                    break;
                case "delta" or "message":
                    if (member.Value.ValueKind == JsonValueKind.Object)
                    {
                        AddDelta(member.Value, at);
                    }

                    break;
                default:
                    _choice.Merge(member.Name, member.Value);
                    break;
            }
        }
    }

    public void WriteTo(Utf8JsonWriter writer)
    {
        writer.WriteStartObject();
        writer.WriteNumber("index", index);
        if (!_choice.Has("finish_reason"))
        {
            writer.WriteNull("finish_reason");
        }

        writer.WritePropertyName("message");
        writer.WriteStartObject();
        if (!_message.Has("role"))
        {
            writer.WriteString("role", "assistant");
        }

        _message.WriteMembers(writer);
        if (_toolCallsSent == JsonValueKind.Array)
        {
            writer.WriteStartArray("tool_calls");
            foreach (var call in _toolCalls.Values)
            {
                call.WriteTo(writer);
            }

            writer.WriteEndArray();
        }
        else if (_toolCallsSent == JsonValueKind.Null)
        {
            // Only ever null: the message says so, as a non-streamed one would.
            writer.WriteNull("tool_calls");
        }

        writer.WriteEndObject();
        _choice.WriteMembers(writer);
        writer.WriteEndObject();
    }

    private void AddDelta(JsonElement delta, string path)
    {
        foreach (var member in delta.EnumerateObject())
        {
            var at = $"{path}.{member.Name}";
            var value = member.Value;
            switch (member.Name)
            {
                case "role":
                    // An explicit null role is not remembered: the message always gets one.
                    if (value.ValueKind == JsonValueKind.String)
                    {
                        _message.First("role", value);
                    }

                    break;
                case "content":
                    _message.Content("content", value, at);
                    break;
                case "refusal" or "reasoning" or "reasoning_content":
                    _message.Concat(member.Name, value, at);
                    break;
                case "annotations":
                    _message.Append(member.Name, value, at);
                    break;
                case "function_call":
                    if (_message.Child(member.Name, value, at) is { } function)
                    {
                        AddFunction(function, value, at, "arguments");
                    }

                    break;
                case "audio":
                    if (_message.Child(member.Name, value, at) is { } audio)
                    {
                        foreach (var part in value.EnumerateObject())
                        {
                            if (part.Name is "data" or "transcript")
                            {
                                audio.Concat(part.Name, part.Value, $"{at}.{part.Name}");
                            }
                            else
                            {
                                audio.First(part.Name, part.Value);
                            }
                        }
                    }

                    break;
                case "tool_calls":
                    if (value.ValueKind == JsonValueKind.Array)
                    {
                        _toolCallsSent = JsonValueKind.Array;
                        var position = 0;
                        foreach (var call in value.EnumerateArray())
                        {
                            AddToolCall(call, $"{at}[{position++}]");
                        }
                    }
                    else if (_toolCallsSent == JsonValueKind.Undefined)
                    {
                        _toolCallsSent = JsonValueKind.Null;
                    }

                    break;
                default:
                    _message.Merge(member.Name, value);
                    break;
            }
        }
    }

    private void AddToolCall(JsonElement call, string path)
    {
        // Without an index (Mistral sends each call whole) a call is new unless its id was seen.
        int index;
        if (call.TryGetProperty("index", out var i))
        {
            index = i.GetInt32();
        }
        else
        {
            var id = call.TryGetProperty("id", out var idValue) && idValue.ValueKind == JsonValueKind.String ? idValue.GetString() : null;
            var seen = id is null ? [] : _toolCalls.Where(c => c.Value.StringOf("id") == id).Select(c => c.Key).Take(1).ToList();
            index = seen.Count > 0 ? seen[0] : (_toolCalls.Count == 0 ? 0 : _toolCalls.Keys.Max() + 1);
        }

        if (!_toolCalls.TryGetValue(index, out var state))
        {
            _toolCalls[index] = state = new MergedJsonObject();
        }

        foreach (var member in call.EnumerateObject())
        {
            var at = $"{path}.{member.Name}";
            switch (member.Name)
            {
                case "index":
                    break;
                case "id" or "type":
                    state.First(member.Name, member.Value);
                    break;
                case "function":
                    if (state.Child(member.Name, member.Value, at) is { } function)
                    {
                        AddFunction(function, member.Value, at, "arguments");
                    }

                    break;
                case "custom":
                    if (state.Child(member.Name, member.Value, at) is { } custom)
                    {
                        AddFunction(custom, member.Value, at, "input");
                    }

                    break;
                default:
                    state.Merge(member.Name, member.Value);
                    break;
            }
        }
    }

    private static void AddFunction(MergedJsonObject target, JsonElement value, string path, string concatenated)
    {
        foreach (var member in value.EnumerateObject())
        {
            if (member.Name == concatenated)
            {
                target.Concat(member.Name, member.Value, $"{path}.{member.Name}");
            }
            else if (member.Name == "name")
            {
                target.First(member.Name, member.Value);
            }
            else
            {
                target.Merge(member.Name, member.Value);
            }
        }
    }
}

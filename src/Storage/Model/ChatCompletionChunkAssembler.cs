using System.Buffers;
using System.Text.Json;
using Storage.Internal;

namespace Storage;

/// <summary>
/// Puts a streamed chat completion back together: add the <c>chat.completion.chunk</c> objects of an
/// OpenAI-style stream (the <c>data:</c> payloads of its server-sent events, without the final <c>[DONE]</c>)
/// in the order they arrived, then call <see cref="ToCompletion"/> for the <c>chat.completion</c> a
/// non-streamed call would have returned. <see cref="ToCompletion"/> works at any point: a stream cut short
/// yields what arrived, with a <c>null</c> finish reason. Not thread-safe.
/// </summary>
/// <remarks>
/// <para>Merge rules. <c>id</c>, <c>created</c>, <c>model</c>, <c>system_fingerprint</c>, <c>service_tier</c>: the first
/// non-null value. <c>object</c> becomes <c>chat.completion</c>. <c>usage</c>: the last non-null value (the usage chunk).
/// Choices are matched by <c>index</c>, their <c>delta</c> becomes the <c>message</c>: <c>role</c> is the first sent
/// (<c>assistant</c> when none was); <c>content</c>, <c>refusal</c>, <c>reasoning</c>, <c>reasoning_content</c> are
/// concatenated (content given as parts is merged part by part); <c>tool_calls</c> are matched by their <c>index</c>
/// (<c>id</c>, <c>type</c> and <c>function.name</c> are set once, <c>function.arguments</c> and <c>custom.input</c>
/// concatenated); the legacy <c>function_call</c> likewise; <c>audio.data</c> and <c>audio.transcript</c> concatenated;
/// <c>annotations</c> appended; <c>finish_reason</c> is the last non-null value; <c>logprobs.content</c> and
/// <c>logprobs.refusal</c> are appended.</para>
/// <para>Members no rule knows, at any level, are kept in that level's <see cref="WireObject.AdditionalProperties"/>:
/// objects merged member by member, arrays appended, anything else the last non-null value. A member that only
/// ever came as <c>null</c> stays an explicit <c>null</c>. Only stream bookkeeping is dropped: the chunk's
/// <c>object</c>, its <c>obfuscation</c> padding, and the <c>index</c> of each streamed tool call.</para>
/// </remarks>
public sealed class ChatCompletionChunkAssembler
{
    private readonly MergedJsonObject _completion = new();
    private readonly SortedDictionary<int, ChoiceState> _choices = [];

    /// <summary>How many chunks were added.</summary>
    public int Count { get; private set; }

    /// <summary>Adds a chunk given as JSON text.</summary>
    /// <exception cref="ChatCompletionValidationException">The chunk is not JSON or does not fit the chunk shape; names the field.</exception>
    public void Add(string chunkJson)
    {
        ArgumentNullException.ThrowIfNull(chunkJson);
        using var document = ParseChunk(() => JsonDocument.Parse(chunkJson));
        Add(document.RootElement);
    }

    /// <summary>Adds a chunk given as UTF-8 JSON.</summary>
    /// <exception cref="ChatCompletionValidationException">The chunk is not JSON or does not fit the chunk shape; names the field.</exception>
    public void Add(ReadOnlyMemory<byte> utf8ChunkJson)
    {
        using var document = ParseChunk(() => JsonDocument.Parse(utf8ChunkJson));
        Add(document.RootElement);
    }

    /// <summary>Adds a chunk. The element is copied: it may be disposed afterwards.</summary>
    /// <exception cref="ChatCompletionValidationException">The chunk does not fit the chunk shape; names the field. Nothing of it was added.</exception>
    public void Add(JsonElement chunk)
    {
        Validate(chunk);
        foreach (var member in chunk.EnumerateObject())
        {
            var value = member.Value;
            switch (member.Name)
            {
                case "object" or "obfuscation":
                    break;
                case "id" or "created" or "model" or "system_fingerprint" or "service_tier":
                    _completion.First(member.Name, value);
                    break;
                case "usage":
                    _completion.Last(member.Name, value);
                    break;
                case "choices":
                    if (value.ValueKind == JsonValueKind.Array)
                    {
                        var position = 0;
                        foreach (var choice in value.EnumerateArray())
                        {
                            var index = choice.TryGetProperty("index", out var i) && i.ValueKind == JsonValueKind.Number ? i.GetInt32() : position;
                            if (!_choices.TryGetValue(index, out var state))
                            {
                                _choices[index] = state = new ChoiceState(index);
                            }

                            state.Add(choice, $"choices[{position}]");
                            position++;
                        }
                    }

                    break;
                default:
                    _completion.Merge(member.Name, value);
                    break;
            }
        }

        Count++;
    }

    /// <summary>The completion as far as the stream went. Can be called again after more chunks are added.</summary>
    /// <exception cref="InvalidOperationException">No chunk has been added.</exception>
    /// <exception cref="ChatCompletionValidationException">The assembled completion lacks a required member (such as <c>id</c>); names it.</exception>
    public ChatCompletion ToCompletion()
    {
        if (Count == 0)
        {
            throw new InvalidOperationException("No chunk has been added.");
        }

        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("object", "chat.completion");
            writer.WriteStartArray("choices");
            foreach (var choice in _choices.Values)
            {
                choice.WriteTo(writer);
            }

            writer.WriteEndArray();
            _completion.WriteMembers(writer);
            writer.WriteEndObject();
        }

        return ChatCompletionJson.Parse(buffer.WrittenSpan);
    }

    private static JsonDocument ParseChunk(Func<JsonDocument> parse)
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

    // Checked before anything is merged, so a rejected chunk leaves the assembler as it was.
    private static void Validate(JsonElement chunk)
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
                            ChoiceState.Validate(choice, $"choices[{position++}]");
                        }
                    }

                    break;
            }
        }
    }

    internal static void RequireKind(JsonElement value, string path, JsonValueKind kind)
    {
        if (value.ValueKind != kind && value.ValueKind != JsonValueKind.Null)
        {
            throw MergedJsonObject.Invalid(path, $"must be {(kind == JsonValueKind.Object ? "an object" : kind == JsonValueKind.Array ? "an array" : "a string")} or null");
        }
    }

    private sealed class ChoiceState(int index)
    {
        private readonly MergedJsonObject _choice = new();
        private readonly MergedJsonObject _message = new();
        private readonly SortedDictionary<int, MergedJsonObject> _toolCalls = [];
        private JsonValueKind _toolCallsSent = JsonValueKind.Undefined;

        public static void Validate(JsonElement choice, string path)
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
}

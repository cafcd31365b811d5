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
    private readonly SortedDictionary<int, ChunkChoice> _choices = [];

    /// <summary>How many chunks were added.</summary>
    public int Count { get; private set; }

    /// <summary>Adds a chunk given as JSON text.</summary>
    /// <exception cref="ChatCompletionValidationException">The chunk is not JSON or does not fit the chunk shape; names the field.</exception>
    public void Add(string chunkJson)
    {
        ArgumentNullException.ThrowIfNull(chunkJson);
        using var document = ChunkShape.Parse(() => JsonDocument.Parse(chunkJson));
        Add(document.RootElement);
    }

    /// <summary>Adds a chunk given as UTF-8 JSON.</summary>
    /// <exception cref="ChatCompletionValidationException">The chunk is not JSON or does not fit the chunk shape; names the field.</exception>
    public void Add(ReadOnlyMemory<byte> utf8ChunkJson)
    {
        using var document = ChunkShape.Parse(() => JsonDocument.Parse(utf8ChunkJson));
        Add(document.RootElement);
    }

    /// <summary>Adds a chunk. The element is copied: it may be disposed afterwards.</summary>
    /// <exception cref="ChatCompletionValidationException">The chunk does not fit the chunk shape; names the field. Nothing of it was added.</exception>
    public void Add(JsonElement chunk)
    {
        ChunkShape.Validate(chunk);
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
                                _choices[index] = state = new ChunkChoice(index);
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
}

using System.Text.Json;
using System.Text.Json.Nodes;

namespace Storage.Tests.Support;

/// <summary>Turns a plain completion body into the chunks of a stream that assembles back into it.</summary>
public static class CompletionChunks
{
    /// <summary>
    /// Streams a plain response the way vendors do: a head chunk, text split into pieces, tool-call arguments
    /// split across chunks, logprobs in two halves, the finish reason last, then a usage chunk.
    /// </summary>
    public static IEnumerable<JsonObject> Of(JsonObject completion)
    {
        JsonObject Chunk(JsonArray choices)
        {
            var chunk = new JsonObject
            {
                ["id"] = completion["id"]?.DeepClone(),
                ["object"] = "chat.completion.chunk",
                ["created"] = completion["created"]?.DeepClone(),
                ["model"] = completion["model"]?.DeepClone(),
                ["choices"] = choices,
            };
            return chunk;
        }

        JsonObject ChoiceChunk(int index, JsonObject delta, params (string Name, JsonNode? Value)[] members)
        {
            var choice = new JsonObject { ["index"] = index, ["delta"] = delta };
            foreach (var (name, value) in members)
            {
                choice[name] = value;
            }

            return Chunk([choice]);
        }

        var head = Chunk([]);
        foreach (var (name, value) in completion)
        {
            if (name is not ("id" or "object" or "created" or "model" or "choices" or "usage"))
            {
                head[name] = value?.DeepClone();
            }
        }

        yield return head;
        foreach (var choiceNode in completion["choices"]!.AsArray())
        {
            var choice = choiceNode!.AsObject();
            var index = (int)choice["index"]!;
            var message = choice["message"]!.AsObject();
            yield return ChoiceChunk(index, new JsonObject { ["role"] = message["role"]?.DeepClone() });
            foreach (var (name, value) in message)
            {
                switch (name)
                {
                    case "role":
                        break;
                    case "content" or "refusal" or "reasoning" or "reasoning_content" when value?.GetValueKind() == JsonValueKind.String:
                        foreach (var piece in Pieces((string)value!))
                        {
                            yield return ChoiceChunk(index, new JsonObject { [name] = piece });
                        }

                        break;
                    case "tool_calls" when value is JsonArray { Count: > 0 } calls:
                        for (var i = 0; i < calls.Count; i++)
                        {
                            var call = calls[i]!.AsObject().DeepClone().AsObject();
                            call["index"] ??= i;
                            var arguments = call["function"]?["arguments"]?.GetValue<string>();
                            if (arguments is not null)
                            {
                                call["function"]!["arguments"] = "";
                            }

                            yield return ChoiceChunk(index, new JsonObject { ["tool_calls"] = new JsonArray(call) });
                            foreach (var piece in arguments is null ? [] : Pieces(arguments))
                            {
                                var more = new JsonObject { ["index"] = call["index"]!.DeepClone(), ["function"] = new JsonObject { ["arguments"] = piece } };
                                yield return ChoiceChunk(index, new JsonObject { ["tool_calls"] = new JsonArray(more) });
                            }
                        }

                        break;
                    default:
                        yield return ChoiceChunk(index, new JsonObject { [name] = value?.DeepClone() });
                        break;
                }
            }

            var last = new List<(string, JsonNode?)>();
            foreach (var (name, value) in choice)
            {
                if (name == "logprobs" && value is JsonObject logprobs && logprobs["content"] is JsonArray { Count: > 1 } tokens)
                {
                    var half = tokens.Count / 2;
                    var first = logprobs.DeepClone().AsObject();
                    first["content"] = new JsonArray([.. tokens.Take(half).Select(t => t!.DeepClone())]);
                    yield return ChoiceChunk(index, [], ("logprobs", first));
                    last.Add(("logprobs", new JsonObject { ["content"] = new JsonArray([.. tokens.Skip(half).Select(t => t!.DeepClone())]) }));
                }
                else if (name is not ("index" or "message"))
                {
                    last.Add((name, value?.DeepClone()));
                }
            }

            yield return ChoiceChunk(index, [], [.. last]);
        }

        if (completion.ContainsKey("usage"))
        {
            var usage = Chunk([]);
            usage["usage"] = completion["usage"]?.DeepClone();
            yield return usage;
        }
    }

    private static IEnumerable<string> Pieces(string text)
    {
        var third = Math.Max(2, text.Length / 3);
        for (var start = 0; start < text.Length;)
        {
            // Never between the halves of a surrogate pair: a piece must be valid text on its own.
            var end = Math.Min(start + third, text.Length);
            if (end < text.Length && char.IsHighSurrogate(text[end - 1]))
            {
                end++;
            }

            yield return text[start..end];
            start = end;
        }

        if (text.Length == 0)
        {
            yield return "";
        }
    }

    /// <summary>The chunks as a server-sent-events body, ending with <c>data: [DONE]</c>.</summary>
    public static string ToSse(IEnumerable<JsonObject> chunks) =>
        string.Concat(chunks.Select(chunk => $"data: {chunk.ToJsonString()}\n\n")) + "data: [DONE]\n\n";
}

using System.Text.Json;

namespace Storage.Tests;

/// <summary>
/// Completions that hold a phrase of one of five scripts in exactly one of the places search reads, and the checks that
/// search finds each phrase in every place (by a term inside a word, in the other case) and nothing else; shared by the
/// tests with the trigram indexes off and on.
/// </summary>
public static class SearchData
{
    public static readonly string[] Places =
    [
        "content", "parts", "refusal", "reasoning", "reasoning_content", "tool_name", "tool_arguments", "custom_input",
        "request_content", "request_parts", "request_tool_arguments",
    ];

    /// <summary>Terms that occur in none of the phrases, one per script: a near miss of each (an accent left out, a letter more).</summary>
    public static readonly string[] Misses = ["quickbrownfax", "ДРАВСТВУЮ", "天气不好", "بالعالمي", "ΚΑΛΗΜΕΡΑ"];

    // Arguments as vendors send them, the text as is: escaped as \uXXXX it would be another text, and search reads text as stored.
    private static readonly JsonSerializerOptions Raw = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static string Id(string model, int phrase, string place) => $"{model}-{phrase}-{place}";

    /// <summary>One completion per phrase and place, and one that holds none of them.</summary>
    public static List<ChatCompletion> Build(string model)
    {
        var completions = new List<ChatCompletion>();
        for (var p = 0; p < QueryData.Phrases.Length; p++)
        {
            var phrase = QueryData.Phrases[p].Phrase;
            foreach (var place in Places)
            {
                var completion = TestCompletions.Completion(Id(model, p, place), content: "nothing to see", model: model);
                var message = completion.Choices[0].Message;
                var quoted = JsonSerializer.Serialize(phrase, Raw);
                switch (place)
                {
                    case "content": message.Content = $"before {phrase} after"; break;
                    case "parts": message.Content = new ChatMessageContent(JsonElement.Parse($$"""[{"type":"text","text":"x"},{"type":"text","text":{{quoted}}}]""")); break;
                    case "refusal": message.Refusal = phrase; break;
                    case "reasoning": message.Reasoning = phrase; break;
                    case "reasoning_content": message.ReasoningContent = phrase; break;
                    case "tool_name": message.ToolCalls = [Call(phrase, "{}")]; break;
                    case "tool_arguments": message.ToolCalls = [Call("lookup", JsonSerializer.Serialize(new { q = phrase }, Raw))]; break;
                    case "custom_input": message.ToolCalls = [new ChatToolCall { Id = "c1", Type = "custom", Custom = new ChatCustomToolCall { Name = "grammar", Input = phrase } }]; break;
                    case "request_content": completion.Call = Request($$"""[{"role":"user","content":{{quoted}}}]"""); break;
                    case "request_parts": completion.Call = Request($$"""[{"role":"user","content":[{"type":"text","text":{{quoted}}}]}]"""); break;
                    default:
                        var arguments = JsonSerializer.Serialize(JsonSerializer.Serialize(new { q = phrase }, Raw));
                        completion.Call = Request($$"""[{"role":"user","content":"hi"},{"role":"assistant","content":null,"tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":{{arguments}} } } ] } ]""");
                        break;
                }

                completions.Add(completion);
            }
        }

        var control = TestCompletions.Completion($"{model}-control", content: "plain words only", model: model);
        control.Call = Request("""[{"role":"user","content":"plain question"}]""");
        completions.Add(control);
        return completions;
    }

    /// <summary>Each phrase's term finds the phrase in every place and nowhere else; each near miss finds nothing.</summary>
    public static async Task AssertHitsAndMissesAsync(ChatCompletionStore store, string model, CancellationToken cancellationToken)
    {
        for (var p = 0; p < QueryData.Phrases.Length; p++)
        {
            var expected = Places.Select(place => Id(model, p, place)).Order(StringComparer.Ordinal).ToList();
            foreach (var term in new[] { QueryData.Phrases[p].Inside, QueryData.Phrases[p].Inside.ToLowerInvariant() })
            {
                Assert.Equal(expected, await IdsAsync(store, new ChatCompletionFilter { Model = model, Search = term }, cancellationToken));
            }
        }

        foreach (var miss in Misses)
        {
            Assert.Empty(await IdsAsync(store, new ChatCompletionFilter { Model = model, Search = miss }, cancellationToken));
        }
    }

    public static async Task<List<string>> IdsAsync(ChatCompletionStore store, ChatCompletionFilter filter, CancellationToken cancellationToken) =>
        (await store.ExportAsync(filter, cancellationToken).Select(c => c.Id).ToListAsync(cancellationToken)).Order(StringComparer.Ordinal).ToList();

    private static ChatToolCall Call(string name, string arguments) =>
        new() { Id = "call_1", Type = "function", Function = new ChatFunction { Name = name, Arguments = arguments } };

    private static ChatCompletionCall Request(string messages) =>
        new() { StartedAt = DateTimeOffset.UnixEpoch, Request = JsonElement.Parse($$"""{"model":"m","messages":{{messages}}}""") };
}

using System.Text.Json;
using System.Text.Json.Nodes;

namespace Storage.Tests.Support;

/// <summary>
/// Completions built for the tests, each distinct unless told otherwise: as the library's objects, as wire JSON made from
/// scratch, or as the project's first sample under another id, model, time and metadata.
/// </summary>
public static class TestCompletions
{
    private static int s_sequence;

    /// <summary>The project's first sample: one choice, usage, metadata.</summary>
    public static string Sample { get; } = Fixtures.Read(Path.Combine(Fixtures.SamplesDirectory, "01-support-answer.json"));

    /// <summary>A small completion object with a fresh id (unless given) and its own creation second.</summary>
    public static ChatCompletion Completion(string? id = null, string content = "Hello!", string model = "gpt-4o-mini", int choices = 1)
    {
        var n = Interlocked.Increment(ref s_sequence);
        return new ChatCompletion
        {
            Id = id ?? $"chatcmpl-test-{n}-{Guid.NewGuid():N}",
            ObjectType = "chat.completion",
            Created = DateTimeOffset.FromUnixTimeSeconds(1_764_000_000 + n),
            Model = model,
            Choices = Enumerable.Range(0, choices)
                .Select(i => new ChatChoice { Index = i, FinishReason = "stop", Message = new ChatCompletionMessage { Role = "assistant", Content = content } })
                .ToList(),
            Usage = new ChatUsage { PromptTokens = 10, CompletionTokens = 5, TotalTokens = 15 },
            Metadata = new Dictionary<string, string> { ["tenant"] = "acme" },
        };
    }

    /// <summary>
    /// A completion as wire JSON with a fresh id, written by hand so that tests can edit the text: <paramref name="content"/>
    /// is spliced in as raw JSON after <c>"content":</c>.
    /// </summary>
    public static string Json(string content = "\"Hello!\"") =>
        "{\"id\":\"chatcmpl-json-" + Guid.NewGuid().ToString("N") + "\",\"object\":\"chat.completion\",\"created\":1764000000,\"model\":\"gpt-4o-mini\","
        + "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":" + content + "},\"finish_reason\":\"stop\"}],"
        + "\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":2,\"total_tokens\":3}}";

    /// <summary>A one-choice completion as wire JSON on one line, with usage and metadata only when given.</summary>
    public static string Json(
        string id,
        DateTimeOffset created,
        string model = "gpt-4o-mini",
        IReadOnlyDictionary<string, string>? metadata = null,
        (long Prompt, long Completion)? usage = null,
        string content = "Hello!")
    {
        var body = new JsonObject
        {
            ["id"] = id,
            ["object"] = "chat.completion",
            ["created"] = created.ToUnixTimeSeconds(),
            ["model"] = model,
            ["choices"] = new JsonArray(new JsonObject
            {
                ["index"] = 0,
                ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = content },
                ["finish_reason"] = "stop",
            }),
        };
        if (usage is var (prompt, completion))
        {
            body["usage"] = new JsonObject { ["prompt_tokens"] = prompt, ["completion_tokens"] = completion, ["total_tokens"] = prompt + completion };
        }

        if (metadata is not null)
        {
            body["metadata"] = MetadataObject(metadata);
        }

        return body.ToJsonString();
    }

    /// <summary>The <see cref="Sample"/> with another id, model, creation time and metadata (none when <c>null</c>).</summary>
    public static string Make(string id, string model, IReadOnlyDictionary<string, string>? metadata = null, long created = 1764000000)
    {
        var node = JsonNode.Parse(Sample)!.AsObject();
        node["id"] = id;
        node["model"] = model;
        node["created"] = created;
        // Set in place, so the members keep the sample's order.
        node["metadata"] = metadata is null ? null : MetadataObject(metadata);
        if (metadata is null)
        {
            node.Remove("metadata");
        }

        return node.ToJsonString();
    }

    /// <summary>JSON Lines of these completions.</summary>
    public static string Lines(IEnumerable<string> completions) =>
        string.Concat(completions.Select(json => JsonNode.Parse(json)!.ToJsonString() + "\n"));

    /// <summary>The id of each completion in JSON Lines.</summary>
    public static IReadOnlyList<string> Ids(IEnumerable<string> lines) =>
        lines.Select(line => JsonDocument.Parse(line).RootElement.GetProperty("id").GetString()!).ToList();

    /// <summary>The text of the first choice's message.</summary>
    public static string Content(string completionJson) =>
        JsonNode.Parse(completionJson)!["choices"]![0]!["message"]!["content"]!.GetValue<string>();

    /// <summary>A unique suffix for ids, models and metadata values, so tests sharing a database do not see each other's rows.</summary>
    public static string Unique() => Guid.NewGuid().ToString("N")[..12];

    private static JsonObject MetadataObject(IReadOnlyDictionary<string, string> metadata) =>
        new(metadata.Select(pair => KeyValuePair.Create(pair.Key, (JsonNode?)pair.Value)));
}

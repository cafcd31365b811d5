using System.Text;
using System.Text.Json.Nodes;

namespace Storage.Api.Tests;

/// <summary>Completions for the tests, made from the project's sample and the shared fixtures.</summary>
public static class TestCompletions
{
    /// <summary>The project's first sample: one choice, usage, metadata.</summary>
    public static string Sample { get; } = Fixtures.Read(Path.Combine(Fixtures.SamplesDirectory, "01-support-answer.json"));

    /// <summary>Fixtures the recording proxy replays: the shared ones of several vendors when present, and the samples.</summary>
    public static TheoryData<string> ReplayFiles()
    {
        string[] shared = ["openai-hello-basic.json", "openai-parallel-tool-calls.json", "deepseek-reasoner-reasoning-content.json", "groq-compound-executed-tools.json"];
        var files = new TheoryData<string>();
        foreach (var name in shared)
        {
            if (Fixtures.SharedCompletionsDirectory is { } directory && File.Exists(Path.Combine(directory, name)))
            {
                files.Add(Path.Combine(directory, name));
            }
        }

        files.Add(Path.Combine(Fixtures.SamplesDirectory, "01-support-answer.json"));
        files.Add(Path.Combine(Fixtures.SamplesDirectory, "02-weather-tool-call.json"));
        return files;
    }

    /// <summary>The sample with another id, model, creation time and metadata.</summary>
    public static string Make(string id, string model, IReadOnlyDictionary<string, string>? metadata = null, long created = 1764000000)
    {
        var node = JsonNode.Parse(Sample)!.AsObject();
        node["id"] = id;
        node["model"] = model;
        node["created"] = created;
        node["metadata"] = metadata is null ? null : new JsonObject(metadata.Select(pair => KeyValuePair.Create(pair.Key, (JsonNode?)pair.Value)));
        if (metadata is null)
        {
            node.Remove("metadata");
        }

        return node.ToJsonString();
    }

    /// <summary>JSON Lines of these completions.</summary>
    public static string Lines(IEnumerable<string> completions) =>
        string.Concat(completions.Select(json => JsonNode.Parse(json)!.ToJsonString() + "\n"));

    /// <summary>
    /// The <c>chat.completion.chunk</c> events a streaming upstream would send for this completion: a role chunk, the
    /// content in pieces, a finish chunk per choice, and a last chunk with the usage and no choices.
    /// </summary>
    public static IEnumerable<string> ToChunks(string completionJson)
    {
        var completion = JsonNode.Parse(completionJson)!.AsObject();
        JsonObject Chunk(JsonArray choices)
        {
            var chunk = new JsonObject
            {
                ["id"] = completion["id"]!.DeepClone(),
                ["object"] = "chat.completion.chunk",
                ["created"] = completion["created"]!.DeepClone(),
                ["model"] = completion["model"]!.DeepClone(),
            };
            if (completion["system_fingerprint"] is { } fingerprint)
            {
                chunk["system_fingerprint"] = fingerprint.DeepClone();
            }

            chunk["choices"] = choices;
            return chunk;
        }

        foreach (var choice in completion["choices"]!.AsArray())
        {
            var index = choice!["index"]!.GetValue<int>();
            var content = choice["message"]?["content"]?.GetValue<string>() ?? "";
            yield return Chunk([new JsonObject { ["index"] = index, ["delta"] = new JsonObject { ["role"] = "assistant", ["content"] = "" }, ["finish_reason"] = null }]).ToJsonString();
            foreach (var piece in Pieces(content, 3))
            {
                yield return Chunk([new JsonObject { ["index"] = index, ["delta"] = new JsonObject { ["content"] = piece }, ["finish_reason"] = null }]).ToJsonString();
            }

            yield return Chunk([new JsonObject { ["index"] = index, ["delta"] = new JsonObject(), ["finish_reason"] = choice["finish_reason"]!.DeepClone() }]).ToJsonString();
        }

        var last = Chunk([]);
        last["usage"] = completion["usage"]?.DeepClone();
        yield return last.ToJsonString();
    }

    /// <summary>The text of the first choice's message.</summary>
    public static string Content(string completionJson) =>
        JsonNode.Parse(completionJson)!["choices"]![0]!["message"]!["content"]!.GetValue<string>();

    private static IEnumerable<string> Pieces(string text, int count)
    {
        var size = Math.Max(1, (text.Length + count - 1) / count);
        for (var start = 0; start < text.Length; start += size)
        {
            yield return text.Substring(start, Math.Min(size, text.Length - start));
        }
    }

    /// <summary>A unique suffix for ids, models and metadata values, so tests sharing a database do not see each other's rows.</summary>
    public static string Unique() => Guid.NewGuid().ToString("N")[..12];

    /// <summary>The hex SHA-256 of a key, as <c>Api:Keys:N:KeyHash</c> takes it.</summary>
    public static string Sha256Hex(string key) =>
        Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(key)));
}

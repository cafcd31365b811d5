using System.Text.Json;
using System.Text.Json.Nodes;

namespace Storage.Cli.Tests;

/// <summary>Completion bodies built for a test, as wire JSON on one line.</summary>
public static class Completions
{
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
            body["metadata"] = new JsonObject(metadata.Select(pair => KeyValuePair.Create(pair.Key, (JsonNode?)pair.Value)));
        }

        return body.ToJsonString();
    }

    /// <summary>The id of each completion in a JSON Lines text.</summary>
    public static IReadOnlyList<string> Ids(IEnumerable<string> lines) =>
        lines.Select(line => JsonDocument.Parse(line).RootElement.GetProperty("id").GetString()!).ToList();

    /// <summary>A temporary file that is deleted when disposed.</summary>
    public static TemporaryFile File(string extension, string contents) => new(extension, contents);

    /// <summary>A temporary file holding exactly these bytes, which need not be valid UTF-8.</summary>
    public static TemporaryFile File(string extension, byte[] contents) => new(extension, contents);
}

public sealed class TemporaryFile : IDisposable
{
    public TemporaryFile(string extension, string contents)
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"storage-cli-test-{Guid.NewGuid():N}{extension}");
        System.IO.File.WriteAllText(Path, contents);
    }

    public TemporaryFile(string extension, byte[] contents)
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"storage-cli-test-{Guid.NewGuid():N}{extension}");
        System.IO.File.WriteAllBytes(Path, contents);
    }

    public string Path { get; }

    public void Dispose() => System.IO.File.Delete(Path);
}

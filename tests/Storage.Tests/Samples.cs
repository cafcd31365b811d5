namespace Storage.Tests;

/// <summary>Small completions built in code, each distinct unless told otherwise.</summary>
public static class Samples
{
    private static int _sequence;

    public static ChatCompletion Completion(string? id = null, string content = "Hello!", string model = "gpt-4o-mini", int choices = 1)
    {
        var n = Interlocked.Increment(ref _sequence);
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

    public static string Json(string content = "\"Hello!\"") =>
        "{\"id\":\"chatcmpl-json-" + Guid.NewGuid().ToString("N") + "\",\"object\":\"chat.completion\",\"created\":1764000000,\"model\":\"gpt-4o-mini\","
        + "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":" + content + "},\"finish_reason\":\"stop\"}],"
        + "\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":2,\"total_tokens\":3}}";
}

using Storage;

namespace Storage.Benchmarks;

/// <summary>The data set of the issue: ~1 KB content, 1.2 choices and 3 metadata pairs per completion.</summary>
internal static class Workload
{
    private static readonly string[] Models = ["gpt-4o-mini-2024-07-18", "gpt-4o-2024-08-06", "deepseek-chat", "mistral-large-latest"];
    private static readonly string[] Words = "the a store completion token model answer request user tenant stream query index page cursor batch copy vacuum lz4 toast".Split(' ');

    public static List<ChatCompletion> Create(int count, int seed, DateTimeOffset start)
    {
        var random = new Random(seed);
        var list = new List<ChatCompletion>(count);
        for (var i = 0; i < count; i++)
        {
            var choices = i % 5 == 0 ? 2 : 1;
            list.Add(new ChatCompletion
            {
                Id = $"chatcmpl-bench-{seed}-{i}",
                ObjectType = "chat.completion",
                Created = start.AddSeconds(i / 10),
                Model = Models[i % Models.Length],
                ServiceTier = "default",
                SystemFingerprint = "fp_bench",
                Choices = Enumerable.Range(0, choices).Select(c => new ChatChoice
                {
                    Index = c,
                    FinishReason = "stop",
                    Message = new ChatCompletionMessage { Role = "assistant", Content = Text(random, 1000) },
                }).ToList(),
                Usage = new ChatUsage
                {
                    PromptTokens = random.Next(10, 2000),
                    CompletionTokens = random.Next(10, 800),
                    TotalTokens = 0,
                    PromptTokensDetails = new ChatPromptTokensDetails { CachedTokens = random.Next(0, 500) },
                    CompletionTokensDetails = new ChatCompletionTokensDetails { ReasoningTokens = random.Next(0, 100) },
                },
                Metadata = new Dictionary<string, string>
                {
                    ["tenant"] = $"tenant-{i % 50}",
                    ["feature"] = $"feature-{i % 7}",
                    ["user"] = $"user-{random.Next(10_000)}",
                },
            });
            list[^1].Usage!.TotalTokens = list[^1].Usage!.PromptTokens + list[^1].Usage!.CompletionTokens;
        }

        return list;
    }

    private static string Text(Random random, int length)
    {
        var builder = new System.Text.StringBuilder(length + 16);
        while (builder.Length < length)
        {
            builder.Append(Words[random.Next(Words.Length)]).Append(' ');
        }

        return builder.ToString(0, length);
    }
}

using Storage;

namespace Storage.Benchmarks;

/// <summary>The data set of the issue: ~1 KB content, 1.2 choices and 3 metadata pairs per completion.</summary>
internal static class Workload
{
    public const int Tenants = 50;
    public const int Features = 7;
    public const int Users = 10_000;

    public static readonly DateTimeOffset Start = DateTimeOffset.FromUnixTimeSeconds(1_760_000_000);

    public static readonly string[] Models = ["gpt-4o-mini-2024-07-18", "gpt-4o-2024-08-06", "deepseek-chat", "mistral-large-latest"];

    private static readonly string[] Words = "the a store completion token model answer request user tenant stream query index page cursor batch copy vacuum lz4 toast".Split(' ');

    // Text drawn from 20 words compresses 4-5x, far better than prose; where compression is measured, words come from
    // 2,000 made-up ones of English letter frequencies, picked Zipf-like (the k-th with weight 1/k), which compresses
    // about as well as English does (deflate: 2.5x on 8 KB).
    private static readonly string[] ProseWords = MakeProseWords(2000);
    private static readonly double[] ProseCumulative = ZipfCumulative(ProseWords.Length);

    /// <summary>The ingest set: ten completions per second from <see cref="Start"/>, as a list the cases can share.</summary>
    public static List<ChatCompletion> Create(int count, int seed) => [.. Generate(count, seed, TimeSpan.FromSeconds(count / 10))];

    /// <summary>
    /// Completions generated one at a time (constant memory however many are asked for), <c>created</c> spread evenly
    /// over <paramref name="span"/> from <see cref="Start"/> in whole seconds, as the wire format carries it.
    /// </summary>
    public static IEnumerable<ChatCompletion> Generate(int count, int seed, TimeSpan span, int contentLength = 1000, bool prose = false)
    {
        var random = new Random(seed);
        var seconds = (long)span.TotalSeconds;
        for (var i = 0; i < count; i++)
        {
            var choices = i % 5 == 0 ? 2 : 1;
            var completion = new ChatCompletion
            {
                Id = Id(seed, i),
                ObjectType = "chat.completion",
                Created = Start.AddSeconds(i * seconds / count),
                Model = Models[i % Models.Length],
                ServiceTier = "default",
                SystemFingerprint = "fp_bench",
                Choices = Enumerable.Range(0, choices).Select(c => new ChatChoice
                {
                    Index = c,
                    FinishReason = "stop",
                    Message = new ChatCompletionMessage { Role = "assistant", Content = Text(random, contentLength, prose) },
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
                    ["tenant"] = $"tenant-{i % Tenants}",
                    ["feature"] = $"feature-{i % Features}",
                    ["user"] = $"user-{random.Next(Users)}",
                },
            };
            completion.Usage!.TotalTokens = completion.Usage.PromptTokens + completion.Usage.CompletionTokens;
            yield return completion;
        }
    }

    public static string Id(int seed, int i) => $"chatcmpl-bench-{seed}-{i}";

    private static string Text(Random random, int length, bool prose)
    {
        var builder = new System.Text.StringBuilder(length + 16);
        while (builder.Length < length)
        {
            builder.Append(prose ? ProseWord(random) : Words[random.Next(Words.Length)]).Append(' ');
        }

        return builder.ToString(0, length);
    }

    private static string ProseWord(Random random)
    {
        var at = Array.BinarySearch(ProseCumulative, random.NextDouble() * ProseCumulative[^1]);
        return ProseWords[Math.Min(at < 0 ? ~at : at, ProseWords.Length - 1)];
    }

    private static double[] ZipfCumulative(int count)
    {
        var cumulative = new double[count];
        var sum = 0.0;
        for (var k = 0; k < count; k++)
        {
            cumulative[k] = sum += 1.0 / (k + 1);
        }

        return cumulative;
    }

    private static string[] MakeProseWords(int count)
    {
        const string letters = "eeeeeeeeeeeettttttttaaaaaaaaoooooooiiiiiiinnnnnnnsssssshhhhhhrrrrrrddddllllcccuuummwwffggyyppbbvkjxqz";
        var random = new Random(0);
        return [.. Enumerable.Range(0, count).Select(_ => new string([.. Enumerable.Range(0, random.Next(1, 11)).Select(_ => letters[random.Next(letters.Length)])]))];
    }
}

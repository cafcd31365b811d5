using System.Text.Json;
using Storage.Internal;

namespace Storage.Tests;

/// <summary>
/// A deterministic data set for the query tests, and the answers computed from it in C#: several models, metadata
/// pairs (some with quotes, backslashes and JSON metacharacters), usage with and without details, and many
/// completions sharing each second.
/// </summary>
public static class QueryData
{
    /// <summary>Late in a UTC day, so the set spans several UTC days.</summary>
    public static readonly DateTimeOffset Start = new(2025, 3, 1, 22, 0, 0, TimeSpan.Zero);

    public static readonly string[] Models = ["gpt-4o-mini-2024-07-18", "gpt-4o", "llama3.2:3b", "mistral-small"];

    public static readonly string[] Tenants = ["acme", "globex", "O'Brien & \"Sons\"", "back\\slash \"}"];

    public static readonly string[] Environments = ["prod", "staging"];

    /// <summary>40 instants 2.5 hours apart: every completion shares its second with several others.</summary>
    public static DateTimeOffset Instant(int index) => Start + TimeSpan.FromMinutes(150 * index);

    public static List<SeededCompletion> Build(string prefix, int count, int seed, int instants = 40, bool hugeUsage = false)
    {
        var random = new Random(seed);
        // The choice and call conditions draw from a generator of their own, so the rest of the set is what it always was.
        var rich = new Random(unchecked((seed * 31) + 7));
        var completions = new List<SeededCompletion>(count);
        for (var i = 0; i < count; i++)
        {
            var completion = new ChatCompletion
            {
                Id = $"{prefix}-{i:D4}",
                ObjectType = "chat.completion",
                Created = Instant(random.Next(instants)),
                Model = Models[random.Next(Models.Length)],
                Choices = Enumerable.Range(0, 1 + (random.Next(4) / 3) + (random.Next(6) / 5))
                    .Select(index => new ChatChoice
                    {
                        Index = index,
                        FinishReason = "stop",
                        Message = new ChatCompletionMessage { Role = "assistant", Content = $"answer {i}.{index}" },
                    })
                    .ToList(),
                Usage = Usage(random, hugeUsage && i < 2),
                Metadata = Metadata(random),
            };
            Enrich(completion, rich);
            completions.Add(new SeededCompletion(completion));
        }

        return completions;
    }

    public static async Task SaveAllAsync(ChatCompletionStore store, IEnumerable<SeededCompletion> completions)
    {
        foreach (var seeded in completions)
        {
            Assert.Equal(SaveOutcome.Stored, await store.SaveAsync(seeded.Completion, TestContext.Current.CancellationToken));
        }
    }

    public static bool Matches(ChatCompletionFilter? filter, ChatCompletion completion) =>
        filter is null
        || ((filter.Model is null || string.Equals(filter.Model, completion.Model, StringComparison.Ordinal))
            && (filter.Metadata is null || filter.Metadata.All(pair => completion.Metadata is { } metadata
                && metadata.TryGetValue(pair.Key, out var value) && string.Equals(value, pair.Value, StringComparison.Ordinal)))
            && (filter.CreatedFrom is null || completion.Created >= filter.CreatedFrom)
            && (filter.CreatedTo is null || completion.Created <= filter.CreatedTo)
            && (filter.ServiceTier is null || string.Equals(filter.ServiceTier, completion.ServiceTier, StringComparison.Ordinal))
            && (filter.MinTotalTokens is null || completion.Usage?.TotalTokens >= filter.MinTotalTokens)
            && (filter.MaxTotalTokens is null || completion.Usage?.TotalTokens <= filter.MaxTotalTokens)
            && (filter.MinLatency is null || completion.Call?.Latency >= filter.MinLatency)
            && (filter.MaxLatency is null || completion.Call?.Latency <= filter.MaxLatency)
            && (filter.FinishReason is null || completion.Choices.Any(c => string.Equals(c.FinishReason, filter.FinishReason, StringComparison.Ordinal)))
            && (filter.ToolName is null || completion.Choices.Any(c => c.Message.ToolCalls?.Any(t =>
                string.Equals(t.Function?.Name, filter.ToolName, StringComparison.Ordinal) || string.Equals(t.Custom?.Name, filter.ToolName, StringComparison.Ordinal)) == true))
            && (filter.HasToolCalls is null || completion.Choices.Any(c => c.Message.ToolCalls is { Count: > 0 }) == filter.HasToolCalls)
            && (string.IsNullOrEmpty(filter.Search) || SearchableText(completion).Any(text => Contains(text, filter.Search))));

    /// <summary>What search reads, field by field: the choices' text, refusal, reasoning and tool calls, and the request's messages.</summary>
    public static IEnumerable<string> SearchableText(ChatCompletion completion)
    {
        foreach (var message in completion.Choices.Select(c => c.Message))
        {
            if (message.Content?.Text is { } text)
            {
                yield return text;
            }

            if (message.Content?.Parts is { } parts)
            {
                yield return string.Join('\n', parts.EnumerateArray().SelectMany(PartText));
            }

            foreach (var value in new[] { message.Refusal, message.Reasoning, message.ReasoningContent })
            {
                if (value is not null)
                {
                    yield return value;
                }
            }

            if (message.ToolCalls is { Count: > 0 } calls)
            {
                yield return string.Join('\n', calls.SelectMany(t => new[] { t.Function?.Name, t.Function?.Arguments, t.Custom?.Name, t.Custom?.Input }).OfType<string>());
            }
        }

        if (completion.Call?.Request is { } request && request.TryGetProperty("messages", out var messages))
        {
            foreach (var message in messages.EnumerateArray())
            {
                if (message.TryGetProperty("content", out var content))
                {
                    if (content.ValueKind == JsonValueKind.String)
                    {
                        yield return content.GetString()!;
                    }
                    else if (content.ValueKind == JsonValueKind.Array)
                    {
                        yield return string.Join('\n', content.EnumerateArray().SelectMany(PartText));
                    }
                }

                if (message.TryGetProperty("tool_calls", out var calls))
                {
                    yield return string.Join('\n', calls.EnumerateArray().Select(call => call.GetProperty("function"))
                        .SelectMany(f => new[] { f.GetProperty("name").GetString()!, f.GetProperty("arguments").GetString()! }));
                }
            }
        }

        static IEnumerable<string> PartText(JsonElement part) =>
            PartMembers.Where(name => part.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String)
                .Select(name => part.GetProperty(name).GetString()!);
    }

    private static readonly string[] PartMembers = ["text", "refusal"];

    // Tool arguments as vendors send them, non-ASCII text as is (search reads the arguments as stored).
    private static readonly JsonSerializerOptions Raw = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Case-insensitive substring, as search promises (simple case mapping; the test data holds no letter whose mapping differs between .NET and the C library).</summary>
    public static bool Contains(string text, string search) =>
        text.ToLowerInvariant().Contains(search.ToLowerInvariant(), StringComparison.Ordinal);

    /// <summary>Phrases in five scripts, and a term inside a word of each (in the other case where the script has case).</summary>
    public static readonly (string Phrase, string Inside)[] Phrases =
    [
        ("The QuickBrownFox jumps", "CKBROWNF"),
        ("Здравствуйте, дорогой мир", "ДРАВСТВ"),
        ("今天天气很好我们去公园", "天气很好"),
        ("مرحبا بالعالم الجميل", "بالعال"),
        ("Καλημέρα κόσμε φίλοι", "ΛΗΜΈΡΑ"),
    ];

    public static readonly string[] FinishReasons = ["stop", "length", "tool_calls", "content_filter"];

    public static readonly string[] ToolNames = ["get_weather", "search_docs", "lookup_order"];

    public static readonly string[] ServiceTiers = ["default", "flex", "priority"];

    /// <summary>Finish reasons, tool calls, reasoning, refusals, text in five scripts, a service tier and a stored call with its request.</summary>
    private static void Enrich(ChatCompletion completion, Random random)
    {
        string Phrase() => Phrases[random.Next(Phrases.Length)].Phrase;
        foreach (var choice in completion.Choices)
        {
            choice.FinishReason = FinishReasons[random.Next(FinishReasons.Length)];
            var message = choice.Message;
            switch (random.Next(6))
            {
                case 0:
                    message.Content = $"{message.Content} {Phrase()}";
                    break;
                case 1:
                    message.Content = new ChatMessageContent(JsonElement.Parse($$"""[{"type":"text","text":{{JsonSerializer.Serialize(Phrase())}}}]"""));
                    break;
                case 2:
                    message.Refusal = Phrase();
                    break;
                case 3:
                    message.Reasoning = Phrase();
                    break;
                case 4:
                    message.ReasoningContent = Phrase();
                    break;
            }

            switch (random.Next(5))
            {
                case 0:
                    message.ToolCalls = [new ChatToolCall
                    {
                        Id = $"call_{random.Next(1000)}",
                        Type = "function",
                        Function = new ChatFunction { Name = ToolNames[random.Next(ToolNames.Length)], Arguments = JsonSerializer.Serialize(new { query = Phrase() }, Raw) },
                    }];
                    break;
                case 1:
                    message.ToolCalls = [new ChatToolCall { Id = "call_c", Type = "custom", Custom = new ChatCustomToolCall { Name = ToolNames[random.Next(ToolNames.Length)], Input = "plain input" } }];
                    break;
                case 2:
                    message.ToolCalls = [];
                    break;
            }
        }

        completion.ServiceTier = random.Next(4) is var tier && tier < ServiceTiers.Length ? ServiceTiers[tier] : null;
        if (random.Next(3) > 0)
        {
            var user = random.Next(3) == 0
                ? $$"""[{"type":"text","text":{{JsonSerializer.Serialize(Phrase())}}},{"type":"image_url","image_url":{"url":"data:image/png;base64,QUJD"} }]"""
                : JsonSerializer.Serialize($"question: {Phrase()}");
            var history = random.Next(3) == 0
                ? """,{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"lookup_order","arguments":"""
                    + JsonSerializer.Serialize(JsonSerializer.Serialize(new { note = Phrase() }, Raw))
                    + """}}]},{"role":"tool","tool_call_id":"call_1","content":"ok"}"""
                : "";
            completion.Call = new ChatCompletionCall
            {
                StartedAt = completion.Created,
                Latency = random.Next(5) == 0 ? null : TimeSpan.FromMilliseconds(random.Next(50, 5000)),
                Request = JsonElement.Parse($$$"""{"model":"{{{completion.Model}}}","messages":[{"role":"system","content":"You are terse."},{"role":"user","content":{{{user}}}}{{{history}}}]}"""),
            };
        }
    }

    /// <summary>The keyset order the store promises: created, then the storage key (a signed bigint).</summary>
    public static List<SeededCompletion> Expected(IEnumerable<SeededCompletion> completions, ChatCompletionFilter? filter, ChatCompletionOrder order)
    {
        var matching = completions.Where(c => Matches(filter, c.Completion));
        return (order == ChatCompletionOrder.Ascending
                ? matching.OrderBy(c => c.Completion.Created).ThenBy(c => c.Key)
                : matching.OrderByDescending(c => c.Completion.Created).ThenByDescending(c => c.Key))
            .ToList();
    }

    public static async Task<List<ChatCompletion>> WalkAsync(
        ChatCompletionStore store, ChatCompletionFilter? filter, int limit, ChatCompletionOrder order, Func<ChatCompletionPage, Task>? betweenPages = null)
    {
        var items = new List<ChatCompletion>();
        string? after = null;
        for (var pages = 0; ; pages++)
        {
            Assert.True(pages < 10_000, "The walk does not end.");
            var page = await store.ListAsync(filter, after, limit, order, TestContext.Current.CancellationToken);
            Assert.True(page.Items.Count <= limit);
            Assert.Equal(page.Items.Count == 0 ? null : page.Items[0].Id, page.FirstId);
            Assert.Equal(page.Items.Count == 0 ? null : page.Items[^1].Id, page.LastId);
            items.AddRange(page.Items);
            if (!page.HasMore)
            {
                return items;
            }

            Assert.Equal(limit, page.Items.Count);
            after = page.LastId;
            if (betweenPages is not null)
            {
                await betweenPages(page);
            }
        }
    }

    private static ChatUsage? Usage(Random random, bool huge)
    {
        if (huge)
        {
            // Two of these overflow a long when summed: 2 × 6e18 > 9.22e18.
            return new ChatUsage { PromptTokens = 6_000_000_000_000_000_000, CompletionTokens = 1, TotalTokens = 6_000_000_000_000_000_001 };
        }

        if (random.Next(10) == 0)
        {
            return null;
        }

        var prompt = random.Next(5_000);
        var output = random.Next(2_000);
        return new ChatUsage
        {
            PromptTokens = prompt,
            CompletionTokens = output,
            TotalTokens = prompt + output + random.Next(3),
            PromptTokensDetails = random.Next(3) == 0 ? new ChatPromptTokensDetails { CachedTokens = random.Next(prompt + 1) } : null,
            CompletionTokensDetails = random.Next(3) switch
            {
                0 => new ChatCompletionTokensDetails { ReasoningTokens = random.Next(output + 1) },
                1 => new ChatCompletionTokensDetails { AudioTokens = 3 },
                _ => null,
            },
        };
    }

    private static Dictionary<string, string>? Metadata(Random random)
    {
        switch (random.Next(20))
        {
            case 0:
                return null;
            case 1:
                return [];
        }

        var metadata = new Dictionary<string, string> { ["tenant"] = Tenants[random.Next(Tenants.Length)] };
        if (random.Next(3) > 0)
        {
            metadata["env"] = Environments[random.Next(Environments.Length)];
        }

        if (random.Next(4) == 0)
        {
            metadata["team"] = $"team-{random.Next(3)}";
        }

        return metadata;
    }
}

/// <summary>A completion of the data set with the storage key the store derives from it.</summary>
public sealed class SeededCompletion(ChatCompletion completion)
{
    public ChatCompletion Completion { get; } = completion;

    public long Key { get; } = ContentHash.ToKey(ContentHash.Compute(completion, ""));

    public string Json { get; } = ChatCompletionJson.Serialize(completion);

    public string Id => Completion.Id;
}

/// <summary>One database seeded with the data set, shared by the read-only query tests of the collection.</summary>
public sealed class SeededDatabase(PostgresFixture postgres) : IAsyncLifetime
{
    public MigratedDatabase Database { get; } = new(postgres);

    public IReadOnlyList<SeededCompletion> Completions { get; private set; } = [];

    public async ValueTask InitializeAsync()
    {
        await Database.InitializeAsync();
        var completions = QueryData.Build("chatcmpl-seed", count: 320, seed: 20_250_301, hugeUsage: true);
        await using var store = Database.CreateStore();
        await QueryData.SaveAllAsync(store, completions);
        Completions = completions;
    }

    public ValueTask DisposeAsync() => Database.DisposeAsync();
}

[CollectionDefinition(Name)]
public sealed class SeededQueries : ICollectionFixture<SeededDatabase>
{
    public const string Name = "Seeded queries";
}

using System.Text.Json;

namespace Storage.Citus.Tests;

/// <summary>
/// Search and the other filters of list, count, export and usage on Citus, without the trigram indexes (a scan) and with
/// them: every filter returns exactly the completions it selects, the same through each operation. A schema of its own,
/// since turning the indexes on and off is DDL on the shared tables.
/// </summary>
public sealed class CitusSearchTests(CitusSearchSchema search) : IClassFixture<CitusSearchSchema>
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    // One tenant's completions, each selected by some filters and not others (name: content, finish reason, tool, tier, tokens, latency).
    private static List<ChatCompletion> Completions(string prefix)
    {
        ChatCompletion Make(string name, string content, string finish, ChatToolCall? tool, string? tier, int totalTokens, double? latencySeconds, string? request = null)
        {
            var completion = TestCompletions.Completion($"{prefix}-{name}", content: content);
            completion.Created = DateTimeOffset.FromUnixTimeSeconds(1_764_000_000 + (name[0] * 7_919L));
            completion.Choices[0].FinishReason = finish;
            completion.Choices[0].Message.ToolCalls = tool is null ? null : [tool];
            completion.ServiceTier = tier;
            completion.Usage = new ChatUsage { PromptTokens = totalTokens - 1, CompletionTokens = 1, TotalTokens = totalTokens };
            if (latencySeconds is { } seconds || request is not null)
            {
                completion.Call = new ChatCompletionCall
                {
                    StartedAt = completion.Created,
                    Latency = latencySeconds is { } s ? TimeSpan.FromSeconds(s) : null,
                    Request = request is null ? null : JsonElement.Parse($$"""{"model":"m","messages":[{"role":"user","content":{{JsonSerializer.Serialize(request)}}}]}"""),
                };
            }

            return completion;
        }

        ChatToolCall Tool(string name, string arguments) => new() { Id = "call_1", Type = "function", Function = new ChatFunction { Name = name, Arguments = arguments } };

        return
        [
            Make("a", "the quick brown fox", "stop", null, "default", 100, 0.2),
            Make("b", "nothing here", "tool_calls", Tool("lookup", """{"q":"brown bear"}"""), "flex", 300, 1.5),
            Make("c", "zebra crossing", "tool_calls", Tool("get_weather", """{"city":"Oslo"}"""), null, 50, null),
            Make("d", "recipe follows", "stop", null, "default", 1_000, 3, request: "a Brownie recipe please"),
            Make("e", "Ünïcödé BrOwNish text", "length", null, "priority", 700, 0.9),
        ];
    }

    public static TheoryData<string, string> Filters() => new()
    {
        { "search in content, tool arguments and request, any case", "abde" },
        { "search that matches nothing", "" },
        { "finish reason", "bc" },
        { "tool name", "c" },
        { "has tool calls", "bc" },
        { "has no tool calls", "ade" },
        { "service tier", "ad" },
        { "token range", "be" },
        { "latency range", "be" },
        { "search and finish reason", "a" },
    };

    private static ChatCompletionFilter Filter(string name) => name switch
    {
        "search in content, tool arguments and request, any case" => new() { Search = "BROWN" },
        "search that matches nothing" => new() { Search = "brown cow" },
        "finish reason" => new() { FinishReason = "tool_calls" },
        "tool name" => new() { ToolName = "get_weather" },
        "has tool calls" => new() { HasToolCalls = true },
        "has no tool calls" => new() { HasToolCalls = false },
        "service tier" => new() { ServiceTier = "default" },
        "token range" => new() { MinTotalTokens = 300, MaxTotalTokens = 700 },
        "latency range" => new() { MinLatency = TimeSpan.FromSeconds(0.5), MaxLatency = TimeSpan.FromSeconds(2) },
        "search and finish reason" => new() { Search = "brown", FinishReason = "stop", ServiceTier = "default", MaxTotalTokens = 500 },
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    [Theory]
    [MemberData(nameof(Filters))]
    public async Task Each_filter_selects_exactly_its_completions_in_list_count_export_and_usage_with_the_indexes_off_and_on(string name, string expected)
    {
        var tenant = $"t-{Guid.NewGuid():N}";
        await using var root = search.Schema.CreateStore();
        var store = root.ForTenant(tenant);
        var completions = Completions(tenant);
        await store.SaveManyAsync(completions, Token).ToListAsync(Token);
        await root.ForTenant($"t-{Guid.NewGuid():N}").SaveManyAsync(Completions("other"), Token).ToListAsync(Token);
        var filter = Filter(name);
        var ids = expected.Select(c => $"{tenant}-{c}").ToList();
        var tokens = completions.Where(c => ids.Contains(c.Id)).Sum(c => c.Usage!.TotalTokens);

        foreach (var indexed in new[] { false, true })
        {
            await search.UseIndexesAsync(indexed);
            var page = await store.ListAsync(filter, limit: 100, order: ChatCompletionOrder.Ascending, cancellationToken: Token);
            Assert.Equal(ids, page.Items.Select(c => c.Id).Order(StringComparer.Ordinal));
            Assert.Equal(ids, (await store.ExportAsync(filter, Token).Select(c => c.Id).ToListAsync(Token)).Order(StringComparer.Ordinal));
            Assert.Equal(ids.Count, await store.CountAsync(filter, Token));
            var usage = await store.GetUsageAsync(filter, cancellationToken: Token);
            Assert.Equal(ids.Count, usage.Sum(u => u.Completions));
            Assert.Equal(tokens, usage.Sum(u => u.TotalTokens));
        }
    }

    [Fact]
    public async Task The_trigram_indexes_are_made_on_the_shards_on_the_workers()
    {
        await search.UseIndexesAsync(true);
        Assert.Equal(7, await search.Schema.ScalarAsync<long>("SELECT storage_search_index(NULL)"));
        // The choices' content index on each of the 4 shards (of the default partition), on the workers.
        var shards = await search.Schema.ScalarAsync<long>(
            "SELECT sum(r.result::bigint) FROM run_command_on_workers($$SELECT count(*) FROM pg_indexes WHERE indexname LIKE 'ix_chat_completion_choices_search_content%'$$) AS r");
        Assert.True(shards >= 4, $"{shards} shard indexes");
    }
}

/// <summary>A schema of its own for <see cref="CitusSearchTests"/>, whose index switch runs one test at a time.</summary>
public sealed class CitusSearchSchema : IAsyncLifetime
{
    private readonly SemaphoreSlim _switch = new(1, 1);
    private bool? _indexed;

    public CitusSchema Schema { get; } = new();

    public async Task UseIndexesAsync(bool enabled)
    {
        await _switch.WaitAsync(TestContext.Current.CancellationToken);
        try
        {
            if (_indexed != enabled)
            {
                await Schema.ScalarAsync<long>("SELECT coalesce(storage_search_index($1), 0)", enabled);
                _indexed = enabled;
            }
        }
        finally
        {
            _switch.Release();
        }
    }

    public ValueTask InitializeAsync() => Schema.InitializeAsync();

    public async ValueTask DisposeAsync()
    {
        await Schema.DisposeAsync();
        _switch.Dispose();
    }
}

namespace Storage.Tests;

/// <summary>Listing the seeded data set: every filter and page walk equals the answer computed in C#.</summary>
[Collection(SeededQueries.Name)]
public sealed class QueryListTests(SeededDatabase seeded)
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public static TheoryData<string> FilterNames() => [.. Filters.Keys];

    private static readonly Dictionary<string, ChatCompletionFilter?> Filters = new(StringComparer.Ordinal)
    {
        ["none"] = null,
        ["empty filter"] = new ChatCompletionFilter(),
        ["model"] = new ChatCompletionFilter { Model = QueryData.Models[0] },
        ["unknown model"] = new ChatCompletionFilter { Model = "gpt-5-nonexistent" },
        ["one metadata pair"] = new ChatCompletionFilter { Metadata = Pairs(("tenant", "acme")) },
        ["two metadata pairs, all must match"] = new ChatCompletionFilter { Metadata = Pairs(("tenant", "globex"), ("env", "prod")) },
        ["metadata value with quotes"] = new ChatCompletionFilter { Metadata = Pairs(("tenant", QueryData.Tenants[2])) },
        ["metadata value with a backslash and JSON metacharacters"] = new ChatCompletionFilter { Metadata = Pairs(("tenant", QueryData.Tenants[3])) },
        ["metadata pair no completion has"] = new ChatCompletionFilter { Metadata = Pairs(("tenant", "acme"), ("env", "qa")) },
        ["empty metadata map means no condition"] = new ChatCompletionFilter { Metadata = Pairs() },
        ["created from"] = new ChatCompletionFilter { CreatedFrom = QueryData.Instant(25) },
        ["created to"] = new ChatCompletionFilter { CreatedTo = QueryData.Instant(7) },
        ["created range, inclusive at both ends"] = new ChatCompletionFilter { CreatedFrom = QueryData.Instant(10), CreatedTo = QueryData.Instant(12) },
        ["one instant"] = new ChatCompletionFilter { CreatedFrom = QueryData.Instant(3), CreatedTo = QueryData.Instant(3) },
        ["created range in another offset"] = new ChatCompletionFilter { CreatedFrom = QueryData.Instant(10).ToOffset(TimeSpan.FromHours(-7)), CreatedTo = QueryData.Instant(20).ToOffset(TimeSpan.FromHours(9)) },
        ["model, metadata and range"] = new ChatCompletionFilter
        {
            Model = QueryData.Models[1],
            Metadata = Pairs(("tenant", "acme")),
            CreatedFrom = QueryData.Instant(5),
            CreatedTo = QueryData.Instant(30),
        },
        ["model and metadata"] = new ChatCompletionFilter { Model = QueryData.Models[2], Metadata = Pairs(("env", "staging")) },
        ["finish reason"] = new ChatCompletionFilter { FinishReason = "length" },
        ["unknown finish reason"] = new ChatCompletionFilter { FinishReason = "Length" },
        ["tool name"] = new ChatCompletionFilter { ToolName = QueryData.ToolNames[0] },
        ["tool name of a custom tool or a function"] = new ChatCompletionFilter { ToolName = QueryData.ToolNames[2] },
        ["has tool calls"] = new ChatCompletionFilter { HasToolCalls = true },
        ["has no tool calls"] = new ChatCompletionFilter { HasToolCalls = false },
        ["service tier"] = new ChatCompletionFilter { ServiceTier = "flex" },
        ["min total tokens"] = new ChatCompletionFilter { MinTotalTokens = 4_000 },
        ["max total tokens"] = new ChatCompletionFilter { MaxTotalTokens = 1_500 },
        ["total tokens range"] = new ChatCompletionFilter { MinTotalTokens = 2_000, MaxTotalTokens = 3_000 },
        ["min latency"] = new ChatCompletionFilter { MinLatency = TimeSpan.FromSeconds(4) },
        ["latency range"] = new ChatCompletionFilter { MinLatency = TimeSpan.FromMilliseconds(500), MaxLatency = TimeSpan.FromMilliseconds(1500) },
        ["search in Latin inside a word"] = new ChatCompletionFilter { Search = QueryData.Phrases[0].Inside },
        ["search in Cyrillic"] = new ChatCompletionFilter { Search = QueryData.Phrases[1].Inside },
        ["search in Chinese"] = new ChatCompletionFilter { Search = QueryData.Phrases[2].Inside },
        ["search in Arabic"] = new ChatCompletionFilter { Search = QueryData.Phrases[3].Inside },
        ["search in Greek"] = new ChatCompletionFilter { Search = QueryData.Phrases[4].Inside },
        ["search for a word no completion has"] = new ChatCompletionFilter { Search = "zebrafinch" },
        ["empty search means no condition"] = new ChatCompletionFilter { Search = "" },
        ["search, tool, finish reason and model"] = new ChatCompletionFilter
        {
            Search = "дорогой", HasToolCalls = true, FinishReason = "stop", Model = QueryData.Models[1],
        },
        ["every new condition at once"] = new ChatCompletionFilter
        {
            Search = "a", FinishReason = "tool_calls", ToolName = QueryData.ToolNames[1], HasToolCalls = true, ServiceTier = "default",
            MinTotalTokens = 100, MaxTotalTokens = 6_000, MinLatency = TimeSpan.FromMilliseconds(60), MaxLatency = TimeSpan.FromSeconds(5),
        },
    };

    [Theory]
    [MemberData(nameof(FilterNames))]
    public async Task Each_filter_and_combination_lists_what_linq_to_objects_finds(string name)
    {
        var filter = Filters[name];
        var expected = QueryData.Expected(seeded.Completions, filter, ChatCompletionOrder.Descending);
        await using var store = seeded.Database.CreateStore();

        var listed = await QueryData.WalkAsync(store, filter, 100, ChatCompletionOrder.Descending);

        Assert.Equal(expected.Select(c => c.Id), listed.Select(c => c.Id));
    }

    [Fact]
    public void The_data_set_has_many_ties_in_created_and_the_filters_are_selective()
    {
        var perSecond = seeded.Completions.GroupBy(c => c.Completion.Created).Select(g => g.Count()).ToList();
        Assert.True(perSecond.Count <= 40 && perSecond.Count(n => n >= 5) >= 30, $"{perSecond.Count} distinct seconds, {perSecond.Min()} to {perSecond.Max()} completions each");
        string[] selective = ["model", "one metadata pair", "two metadata pairs, all must match", "metadata value with quotes",
            "metadata value with a backslash and JSON metacharacters", "created from", "created to", "created range, inclusive at both ends",
            "one instant", "created range in another offset", "model, metadata and range", "model and metadata",
            "finish reason", "tool name", "tool name of a custom tool or a function", "has tool calls", "has no tool calls", "service tier",
            "min total tokens", "max total tokens", "total tokens range", "min latency", "latency range", "search in Latin inside a word",
            "search in Cyrillic", "search in Chinese", "search in Arabic", "search in Greek", "search, tool, finish reason and model"];
        foreach (var name in selective)
        {
            var count = QueryData.Expected(seeded.Completions, Filters[name], ChatCompletionOrder.Ascending).Count;
            Assert.True(count is > 1 and < 300, $"'{name}' selects {count} of {seeded.Completions.Count}");
        }
    }

    [Theory]
    [InlineData(1, ChatCompletionOrder.Ascending, "model")]
    [InlineData(1, ChatCompletionOrder.Descending, "model and metadata")]
    [InlineData(3, ChatCompletionOrder.Ascending, "none")]
    [InlineData(3, ChatCompletionOrder.Descending, "none")]
    [InlineData(7, ChatCompletionOrder.Ascending, "one metadata pair")]
    [InlineData(7, ChatCompletionOrder.Descending, "created range, inclusive at both ends")]
    [InlineData(100, ChatCompletionOrder.Ascending, "none")]
    public async Task Walking_the_pages_returns_every_completion_once_in_order_despite_ties(int limit, ChatCompletionOrder order, string name)
    {
        var filter = Filters[name];
        var expected = QueryData.Expected(seeded.Completions, filter, order);
        await using var store = seeded.Database.CreateStore();

        var listed = await QueryData.WalkAsync(store, filter, limit, order);

        Assert.Equal(expected.Select(c => c.Id), listed.Select(c => c.Id));
    }

    [Fact]
    public async Task The_default_page_is_the_twenty_newest()
    {
        await using var store = seeded.Database.CreateStore();

        var page = await store.ListAsync(cancellationToken: Token);

        var expected = QueryData.Expected(seeded.Completions, null, ChatCompletionOrder.Descending);
        Assert.Equal(expected.Take(20).Select(c => c.Id), page.Items.Select(c => c.Id));
        Assert.True(page.HasMore);
        Assert.Equal(expected[0].Id, page.FirstId);
        Assert.Equal(expected[19].Id, page.LastId);
    }

    [Fact]
    public async Task Listed_completions_carry_their_choices_and_read_back_as_stored()
    {
        await using var store = seeded.Database.CreateStore();

        var page = await store.ListAsync(limit: 100, order: ChatCompletionOrder.Ascending, cancellationToken: Token);

        var expected = QueryData.Expected(seeded.Completions, null, ChatCompletionOrder.Ascending).Take(100).ToList();
        Assert.Contains(page.Items, c => c.Choices.Count > 1);
        for (var i = 0; i < expected.Count; i++)
        {
            JsonAssert.SemanticallyEqual(expected[i].Json, ChatCompletionJson.Serialize(page.Items[i]));
        }
    }

    [Fact]
    public async Task A_page_that_matches_nothing_has_null_ids_and_no_more()
    {
        await using var store = seeded.Database.CreateStore();
        var last = QueryData.Expected(seeded.Completions, null, ChatCompletionOrder.Descending)[^1];

        var none = await store.ListAsync(new ChatCompletionFilter { Model = "no-such-model" }, cancellationToken: Token);
        var afterTheLast = await store.ListAsync(after: last.Id, cancellationToken: Token);

        foreach (var page in new[] { none, afterTheLast })
        {
            Assert.Empty(page.Items);
            Assert.Null(page.FirstId);
            Assert.Null(page.LastId);
            Assert.False(page.HasMore);
        }
    }

    [Fact]
    public async Task A_page_that_ends_exactly_at_the_last_completion_has_no_more()
    {
        var filter = Filters["model"];
        var count = QueryData.Expected(seeded.Completions, filter, ChatCompletionOrder.Ascending).Count;
        await using var store = seeded.Database.CreateStore();

        var page = await store.ListAsync(filter, limit: Math.Min(count, 100), order: ChatCompletionOrder.Ascending, cancellationToken: Token);

        Assert.True(count <= 100);
        Assert.Equal(count, page.Items.Count);
        Assert.False(page.HasMore);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(101)]
    [InlineData(int.MaxValue)]
    public async Task A_limit_outside_1_to_100_is_rejected_naming_limit(int limit)
    {
        await using var store = seeded.Database.CreateStore();

        var error = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => store.ListAsync(limit: limit, cancellationToken: Token));

        Assert.Equal("limit", error.ParamName);
    }

    [Fact]
    public async Task An_undefined_order_is_rejected_naming_order()
    {
        await using var store = seeded.Database.CreateStore();

        var error = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => store.ListAsync(order: (ChatCompletionOrder)7, cancellationToken: Token));

        Assert.Equal("order", error.ParamName);
    }

    [Fact]
    public async Task An_unknown_after_id_is_a_typed_not_found_error_naming_after()
    {
        await using var store = seeded.Database.CreateStore();

        var error = await Assert.ThrowsAsync<ChatCompletionNotFoundException>(() => store.ListAsync(after: "chatcmpl-never-stored", cancellationToken: Token));

        Assert.Equal("after", error.ParameterName);
        Assert.Equal("chatcmpl-never-stored", error.Id);
        Assert.IsAssignableFrom<ChatCompletionStoreException>(error);
        Assert.DoesNotContain("chatcmpl-never-stored", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_null_metadata_value_in_a_filter_is_rejected_naming_the_filter()
    {
        await using var store = seeded.Database.CreateStore();
        var filter = new ChatCompletionFilter { Metadata = new Dictionary<string, string> { ["tenant"] = null! } };

        var error = await Assert.ThrowsAsync<ArgumentException>(() => store.ListAsync(filter, cancellationToken: Token));

        Assert.Equal("filter", error.ParamName);
    }

    private static Dictionary<string, string> Pairs(params (string Key, string Value)[] pairs) =>
        pairs.ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);
}

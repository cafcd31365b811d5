namespace Storage.Tests;

/// <summary>
/// Search without the trigram indexes (a scan, the state after the migration): hits and misses in five scripts in every
/// place search reads, hostile search text taken literally, and the same answer from list, export, count and usage.
/// Retention under each new filter deletes only what it selects, row by row, never a whole partition.
/// </summary>
public sealed class QuerySearchTests(MigratedDatabase database) : IClassFixture<MigratedDatabase>
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Search_finds_a_term_inside_words_in_five_scripts_in_every_place_and_nothing_else()
    {
        var model = $"search-{TestCompletions.Unique()}";
        await using var store = database.CreateStore();
        await store.SaveManyAsync(SearchData.Build(model), Token).ToListAsync(Token);

        Assert.False(await store.HasSearchIndexAsync(Token));
        await SearchData.AssertHitsAndMissesAsync(store, model, Token);
    }

    [Theory]
    [InlineData("%", new[] { "marks" })]
    [InlineData("_", new[] { "marks" })]
    [InlineData("\\", new[] { "marks" })]
    [InlineData("'", new[] { "marks" })]
    [InlineData("\"", new[] { "marks" })]
    [InlineData("100%", new[] { "marks" })]
    [InlineData("e_t", new[] { "marks" })]
    [InlineData("C:\\Temp\\", new[] { "marks" })]
    [InlineData("'; DROP TABLE chat_completions; --", new string[0])]
    [InlineData("%_", new string[0])]
    [InlineData("\\%", new string[0])]
    [InlineData("a\0b", new string[0])]
    [InlineData("\uD800", new string[0])]
    [InlineData("", new[] { "marks", "plain" })]
    public async Task Hostile_search_text_is_taken_literally(string search, string[] expected)
    {
        var model = $"hostile-{TestCompletions.Unique()}";
        await using var store = database.CreateStore();
        await store.SaveAsync(TestCompletions.Completion($"{model}-marks", content: "100% sure_thing in C:\\Temp\\ with 'single' and \"double\" quotes", model: model), Token);
        await store.SaveAsync(TestCompletions.Completion($"{model}-plain", content: "100 percent surething in CTemp with single and double quotes", model: model), Token);
        var filter = new ChatCompletionFilter { Model = model, Search = search };

        var found = await SearchData.IdsAsync(store, filter, Token);

        Assert.Equal(expected.Select(suffix => $"{model}-{suffix}"), found);
        Assert.Equal(expected.Length, await store.CountAsync(filter, Token));
        Assert.Equal(expected.Length, Assert.Single(await store.GetUsageAsync(filter, cancellationToken: Token)).Completions);
        Assert.Equal(expected.Length, (await store.ListAsync(filter, limit: 100, cancellationToken: Token)).Items.Count);
    }

    [Theory]
    [InlineData(ChatCompletionOrder.Descending)]
    [InlineData(ChatCompletionOrder.Ascending)]
    public async Task Search_pages_over_more_completions_than_the_window_list_every_match_once_in_order(ChatCompletionOrder order)
    {
        // More completions than a search page asks one by one (CompletionQueries.SearchWindow): a term in every third (its
        // pages fill within the window), one in every 150th (they do not: the whole-table search answers), one only in the
        // ten at the far end of the order, and one in none.
        const int count = Storage.Internal.CompletionQueries.SearchWindow * 5 / 2;
        var model = $"window-{TestCompletions.Unique()}";
        var start = DateTimeOffset.FromUnixTimeSeconds(1_764_000_000);
        var completions = Enumerable.Range(0, count).Select(i =>
        {
            var words = (i % 3 == 0 ? " everythirdterm" : "") + (i % 150 == 1 ? " everyhundredfiftiethterm" : "") + (i < 10 ? " tenoldestterm" : "");
            var completion = TestCompletions.Completion($"{model}-{i:D4}", content: $"completion {i}{words}", model: model);
            completion.Created = start.AddSeconds(i);
            return completion;
        }).ToList();
        await using var store = database.CreateStore();
        await store.SaveManyAsync(completions, Token).ToListAsync(Token);

        foreach (var term in new[] { "EVERYTHIRDTERM", "everyhundredfiftiethterm", "tenoldestterm", "nowhereterm" })
        {
            var oldestFirst = completions
                .Where(c => QueryData.Contains(c.Choices[0].Message.Content!.Text!, term))
                .OrderBy(c => c.Created)
                .Select(c => c.Id)
                .ToList();
            var expected = order == ChatCompletionOrder.Ascending ? oldestFirst : oldestFirst.AsEnumerable().Reverse().ToList();

            var filter = new ChatCompletionFilter { Model = model, Search = term };
            var listed = new List<string>();
            string? after = null;
            while (true)
            {
                var page = await store.ListAsync(filter, after, 20, order, Token);
                listed.AddRange(page.Items.Select(c => c.Id));
                if (!page.HasMore)
                {
                    break;
                }

                after = page.LastId;
            }

            Assert.Equal(expected, listed);
            Assert.Equal(oldestFirst, await store.ExportAsync(filter, Token).Select(c => c.Id).ToListAsync(Token));
        }
    }

    [Fact]
    public async Task A_very_long_search_matches_nothing_and_fails_nothing()
    {
        var model = $"long-{TestCompletions.Unique()}";
        await using var store = database.CreateStore();
        var content = string.Concat(Enumerable.Repeat("lorem ipsum ", 10_000));
        await store.SaveAsync(TestCompletions.Completion($"{model}-long", content: content, model: model), Token);

        Assert.Empty(await SearchData.IdsAsync(store, new ChatCompletionFilter { Model = model, Search = content + "x" }, Token));
        Assert.Equal([$"{model}-long"], await SearchData.IdsAsync(store, new ChatCompletionFilter { Model = model, Search = content[1..^1].ToUpperInvariant() }, Token));
    }

    public static TheoryData<int, string> RetentionFilters() => new()
    {
        { 1, "finish reason" }, { 2, "search" }, { 3, "tool" }, { 4, "has tool calls" }, { 5, "service tier" }, { 6, "tokens" }, { 7, "latency" },
    };

    [Theory]
    [MemberData(nameof(RetentionFilters))]
    public async Task Retention_with_a_new_filter_deletes_only_its_matches_and_keeps_the_partition_and_the_rest(int month, string name)
    {
        // A month of its own in 2019, so its partition holds only this test's rows.
        var start = new DateTimeOffset(2019, month, 1, 0, 0, 0, TimeSpan.Zero);
        await using var store = database.CreateStore();
        var doomed = TestCompletions.Completion(content: "the needle is here");
        doomed.Choices[0].FinishReason = "length";
        doomed.Choices[0].Message.ToolCalls = [new ChatToolCall { Id = "c", Type = "function", Function = new ChatFunction { Name = "purge_me", Arguments = "{}" } }];
        doomed.ServiceTier = "flex";
        doomed.Usage = new ChatUsage { PromptTokens = 900, CompletionTokens = 100, TotalTokens = 1000 };
        doomed.Call = new ChatCompletionCall { StartedAt = start, Latency = TimeSpan.FromSeconds(9) };
        var kept = Enumerable.Range(0, 3).Select(_ => TestCompletions.Completion(content: "hay only")).ToList();
        foreach (var completion in kept.Prepend(doomed))
        {
            completion.Created = start.AddDays(3);
            await store.SaveAsync(completion, Token);
        }

        await store.EnsurePartitionsAsync(0, Token);
        var partition = $"chat_completions_p{start:yyyyMMdd}";
        Assert.Contains(await store.ListPartitionsAsync(Token), p => p.Name == partition);
        var filter = name switch
        {
            "finish reason" => new ChatCompletionFilter { FinishReason = "length" },
            "search" => new ChatCompletionFilter { Search = "NEEDLE" },
            "tool" => new ChatCompletionFilter { ToolName = "purge_me" },
            "has tool calls" => new ChatCompletionFilter { HasToolCalls = true },
            "service tier" => new ChatCompletionFilter { ServiceTier = "flex" },
            "tokens" => new ChatCompletionFilter { MinTotalTokens = 1000 },
            _ => new ChatCompletionFilter { MinLatency = TimeSpan.FromSeconds(5) },
        };

        var deleted = await store.DeleteCreatedBeforeAsync(start.AddMonths(1), filter with { CreatedFrom = start }, Token);

        Assert.Equal(1, deleted);
        Assert.Null(await store.GetAsync(doomed.Id, Token));
        foreach (var completion in kept)
        {
            Assert.NotNull(await store.GetAsync(completion.Id, Token));
        }

        Assert.Contains(await store.ListPartitionsAsync(Token), p => p.Name == partition);
    }
}

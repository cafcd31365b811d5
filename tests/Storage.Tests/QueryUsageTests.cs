namespace Storage.Tests;

/// <summary>Usage totals over the seeded data set equal the sums LINQ to objects computes, for every grouping.</summary>
[Collection(SeededQueries.Name)]
public sealed class QueryUsageTests(SeededDatabase seeded)
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public static TheoryData<bool, bool, string?, string> Groupings()
    {
        var data = new TheoryData<bool, bool, string?, string>();
        foreach (var byModel in new[] { false, true })
        {
            foreach (var byDay in new[] { false, true })
            {
                foreach (var key in new[] { null, "tenant" })
                {
                    foreach (var filter in new[] { "none", "created range", "model and metadata" })
                    {
                        data.Add(byModel, byDay, key, filter);
                    }
                }
            }
        }

        data.Add(false, false, "env", "none");
        data.Add(true, true, "team", "created range");
        data.Add(false, true, "no-such-key", "none");
        foreach (var filter in new[] { "search", "finish reason", "tool", "no tool calls", "service tier", "tokens", "latency" })
        {
            data.Add(false, false, null, filter);
            data.Add(true, true, null, filter);
        }

        data.Add(true, false, "env", "search");
        return data;
    }

    [Theory]
    [MemberData(nameof(Groupings))]
    public async Task Usage_totals_for_each_grouping_equal_linq_to_objects_sums(bool byModel, bool byDay, string? byMetadataKey, string filterName)
    {
        var filter = filterName switch
        {
            "created range" => new ChatCompletionFilter { CreatedFrom = QueryData.Instant(4), CreatedTo = QueryData.Instant(33) },
            "model and metadata" => new ChatCompletionFilter { Model = QueryData.Models[0], Metadata = new Dictionary<string, string> { ["env"] = "prod" } },
            // Each of these must sum the rows: the rollups know nothing of them.
            "search" => new ChatCompletionFilter { Search = QueryData.Phrases[1].Inside, CreatedFrom = QueryData.Instant(4) },
            "finish reason" => new ChatCompletionFilter { FinishReason = "length", Model = QueryData.Models[0] },
            "tool" => new ChatCompletionFilter { ToolName = QueryData.ToolNames[1] },
            "no tool calls" => new ChatCompletionFilter { HasToolCalls = false, CreatedTo = QueryData.Instant(30) },
            "service tier" => new ChatCompletionFilter { ServiceTier = "priority" },
            "tokens" => new ChatCompletionFilter { MinTotalTokens = 1_000, MaxTotalTokens = 5_000 },
            "latency" => new ChatCompletionFilter { MaxLatency = TimeSpan.FromSeconds(2) },
            _ => null,
        };
        var grouping = new ChatCompletionUsageGrouping { ByModel = byModel, ByDay = byDay, ByMetadataKey = byMetadataKey };
        await using var store = seeded.Database.CreateStore();

        var totals = await store.GetUsageAsync(filter, grouping, Token);

        var expected = Expected(seeded.Completions.Select(c => c.Completion).Where(c => QueryData.Matches(filter, c)), grouping);
        Assert.Equal(expected, Sorted(totals));
        Assert.NotEmpty(totals);
    }

    [Fact]
    public async Task Sums_beyond_the_range_of_a_long_are_exact()
    {
        await using var store = seeded.Database.CreateStore();

        var totals = await store.GetUsageAsync(cancellationToken: Token);

        var expected = seeded.Completions.Sum(c => (decimal?)c.Completion.Usage?.PromptTokens ?? 0);
        Assert.True(expected > long.MaxValue);
        Assert.Equal(expected, Assert.Single(totals).PromptTokens);
        Assert.Equal(seeded.Completions.Count, totals[0].Completions);
    }

    [Fact]
    public async Task Usage_over_nothing_is_one_zero_row_ungrouped_and_no_rows_grouped()
    {
        var filter = new ChatCompletionFilter { Model = "no-such-model" };
        await using var store = seeded.Database.CreateStore();

        var ungrouped = await store.GetUsageAsync(filter, cancellationToken: Token);
        var grouped = await store.GetUsageAsync(filter, new ChatCompletionUsageGrouping { ByModel = true }, Token);

        Assert.Equal(new ChatCompletionUsageTotals(), Assert.Single(ungrouped));
        Assert.Empty(grouped);
    }

    private static List<ChatCompletionUsageTotals> Expected(IEnumerable<ChatCompletion> completions, ChatCompletionUsageGrouping grouping) =>
        Sorted(completions
            .GroupBy(c => (
                Model: grouping.ByModel ? c.Model : null,
                Day: grouping.ByDay ? DateOnly.FromDateTime(c.Created.UtcDateTime) : (DateOnly?)null,
                Value: grouping.ByMetadataKey is { } key ? (c.Metadata is { } m && m.TryGetValue(key, out var v) ? v : null) : null))
            .Select(g => new ChatCompletionUsageTotals
            {
                Model = g.Key.Model,
                Day = g.Key.Day,
                MetadataValue = g.Key.Value,
                Completions = g.LongCount(),
                PromptTokens = g.Sum(c => (decimal?)c.Usage?.PromptTokens ?? 0),
                CompletionTokens = g.Sum(c => (decimal?)c.Usage?.CompletionTokens ?? 0),
                TotalTokens = g.Sum(c => (decimal?)c.Usage?.TotalTokens ?? 0),
                CachedTokens = g.Sum(c => (decimal?)c.Usage?.PromptTokensDetails?.CachedTokens ?? 0),
                ReasoningTokens = g.Sum(c => (decimal?)c.Usage?.CompletionTokensDetails?.ReasoningTokens ?? 0),
                // Priced with the default table, as the store was (CostTests checks the prices themselves).
                Cost = g.Sum(c => Cost(c)?.Usd ?? 0),
                Unpriced = g.LongCount(c => Cost(c) is null),
            }));

    private static readonly Storage.Internal.PriceBook DefaultPrices = new([], PriceTable.Default);

    private static ChatCompletionCost? Cost(ChatCompletion c) => Storage.Internal.CostCalculator.Compute(c.Model, c.Created, c.Usage, DefaultPrices);

    // PostgreSQL orders text by its collation; compare as sets in one ordinal order.
    private static List<ChatCompletionUsageTotals> Sorted(IEnumerable<ChatCompletionUsageTotals> totals) =>
        [.. totals.OrderBy(t => t.Model, StringComparer.Ordinal).ThenBy(t => t.Day).ThenBy(t => t.MetadataValue, StringComparer.Ordinal)];
}

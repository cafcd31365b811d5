using Storage.Internal;
using Storage.Tests.Support;

namespace Storage.Tests;

/// <summary>
/// What each completion cost: shared fixtures and made-up usages priced by hand (each term stated), cached, reasoning
/// and audio tokens, DeepSeek's cache split, a vendor-reported cost, an unpriced model, bad counts clamped, a price
/// change effective mid-range with <c>reprice</c>, and totals whose cost is the sum of the rows.
/// </summary>
public sealed class CostTests(MigratedDatabase database) : IClassFixture<MigratedDatabase>
{
    // Round test prices, USD per token, effective from the start of time.
    private static readonly PriceTable Prices = PriceTable.Parse("""
        {
          "sample_spec": {"input_cost_per_token": 1, "mode": "chat"},
          "gpt-4o-mini-2024-07-18": {"input_cost_per_token": 1.5e-07, "cache_read_input_token_cost": 7.5e-08, "output_cost_per_token": 6e-07, "mode": "chat", "max_tokens": 16384},
          "gpt-audio-1.5": {"input_cost_per_token": 2.5e-06, "output_cost_per_token": 1e-05, "input_cost_per_audio_token": 4e-05, "output_cost_per_audio_token": 8e-05, "mode": "chat"},
          "deepseek-chat": {"input_cost_per_token": 2.8e-07, "cache_read_input_token_cost": 2.8e-08, "output_cost_per_token": 4.2e-07, "mode": "chat"},
          "deepseek-reasoner": {"input_cost_per_token": 5.5e-07, "cache_read_input_token_cost": 1.4e-07, "output_cost_per_token": 2.19e-06, "output_cost_per_reasoning_token": 3e-06, "mode": "chat"},
          "gpt-oss-120b": {"input_cost_per_token": 1e-07, "output_cost_per_token": 5e-07, "mode": "chat"},
          "gpt-5.4": {"input_cost_per_token": 1e-06, "output_cost_per_token": 1e-05, "mode": "chat"},
          "text-embedding-3-small": {"input_cost_per_token": 2e-08, "output_cost_per_token": 0, "mode": "embedding"}
        }
        """u8);

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public static TheoryData<string, string?, ChatCompletionCostSource?> FixtureCosts => new()
    {
        // 11 prompt (0 cached) × 0.00000015 + 9 completion × 0.0000006
        { "openai-hello-basic.json", "0.00000705", ChatCompletionCostSource.Prices },
        // 17 audio in × 0.00004 + 11 text in × 0.0000025 + 93 audio out × 0.00008 + 32 text out × 0.00001
        { "openai-audio-output-full-base64.json", "0.0084675", ChatCompletionCostSource.Prices },
        // DeepSeek's split: 0 hit × 0.000000028 + 12 miss × 0.00000028 + 28 out × 0.00000042
        { "deepseek-chat-chinese-uuid-id.json", "0.00001512", ChatCompletionCostSource.Prices },
        // 12 in × 0.00000055 + 415 reasoning × 0.000003 + (789 − 415) out × 0.00000219
        { "deepseek-reasoner-reasoning-content.json", "0.00207066", ChatCompletionCostSource.Prices },
        // no reasoning price: 79 in × 0.0000001 + (25 reasoning + 12) out × 0.0000005
        { "cerebras-time-info.json", "0.0000264", ChatCompletionCostSource.Prices },
        // "azure/gpt-5.4" without its provider prefix: 19 in × 0.000001 + 5 out × 0.00001
        { "litellm-normalized-provider-specific-fields.json", "0.000069", ChatCompletionCostSource.Prices },
        // OpenRouter's usage.cost, as reported
        { "openrouter-reasoning-details-cost.json", "0.00435825", ChatCompletionCostSource.Reported },
        { "openrouter-web-search-annotations.json", "0.007637029", ChatCompletionCostSource.Reported },
        // "deepseek-ai/DeepSeek-R1", nor "DeepSeek-R1", is not in the table: unpriced
        { "together-deepseek-r1-think-seed.json", null, null },
        { "groq-compound-executed-tools.json", null, null },
    };

    [Theory]
    [MemberData(nameof(FixtureCosts))]
    public async Task A_shared_fixture_costs_what_it_costs_by_hand(string file, string? usd, ChatCompletionCostSource? source)
    {
        Assert.SkipWhen(Fixtures.SharedCompletionsDirectory is null, "The shared fixtures are not beside the clone.");
        await using var store = database.CreateStore(new ChatCompletionStoreOptions { Prices = Prices, UseDefaultPrices = false }).ForTenant("fixtures-" + TestCompletions.Unique());
        var completion = ChatCompletionJson.Parse(Fixtures.Read(Path.Combine(Fixtures.SharedCompletionsDirectory!, file)));
        await store.SaveAsync(completion, Token);

        var cost = (await store.GetWithVersionAsync(completion.Id, Token))!.Cost;
        Assert.Equal(usd is null ? null : decimal.Parse(usd, System.Globalization.CultureInfo.InvariantCulture), cost?.Usd);
        Assert.Equal(source, cost?.Source);
        var totals = Assert.Single(await store.GetUsageAsync(cancellationToken: Token));
        Assert.Equal(cost?.Usd ?? 0, totals.Cost);
        Assert.Equal(cost is null ? 1 : 0, totals.Unpriced);
    }

    [Fact]
    public async Task Every_fixture_and_sample_is_priced_or_counted_unpriced_on_every_path()
    {
        var files = Fixtures.AllCompletionFiles;
        var single = database.CreateStore().ForTenant("all-single-" + TestCompletions.Unique());
        var bulk = database.CreateStore().ForTenant("all-bulk-" + TestCompletions.Unique());
        var completions = files.Select(f => ChatCompletionJson.Parse(Fixtures.Read(f))).ToList();
        foreach (var completion in completions)
        {
            await single.SaveAsync(completion, Token);
        }

        await foreach (var result in bulk.SaveManyAsync(completions.Select(c => ChatCompletionJson.Parse(ChatCompletionJson.Serialize(c))), Token))
        {
            Assert.Null(result.Error);
        }

        // Both paths price alike, and the default table prices what it names.
        var one = await single.GetUsageAsync(grouping: new ChatCompletionUsageGrouping { ByModel = true }, cancellationToken: Token);
        var other = await bulk.GetUsageAsync(grouping: new ChatCompletionUsageGrouping { ByModel = true }, cancellationToken: Token);
        Assert.Equal(one, other);
        var priced = one.Single(t => t.Model == "gpt-4o-mini-2024-07-18");
        Assert.Equal(0, priced.Unpriced);
        Assert.True(priced.Cost > 0);
    }

    [Fact]
    public void Cached_tokens_are_priced_once_and_bad_counts_are_clamped_and_flagged()
    {
        var book = new PriceBook(Prices.ToPrices(DateTimeOffset.MinValue), fallback: null);
        var created = DateTimeOffset.UnixEpoch;
        // 400 cached × 0.000000075 + (1000 − 400) × 0.00000015 + 10 out × 0.0000006
        var cached = CostCalculator.Compute("gpt-4o-mini-2024-07-18", created, Usage(1000, 10, cached: 400), book)!;
        Assert.Equal(0.000126m, cached.Usd);
        Assert.False(cached.Clamped);
        // 2000 cached of 1000 prompt tokens: clamped to 1000 × 0.000000075, + 10 × 0.0000006
        var clamped = CostCalculator.Compute("gpt-4o-mini-2024-07-18", created, Usage(1000, 10, cached: 2000), book)!;
        Assert.Equal(0.000081m, clamped.Usd);
        Assert.True(clamped.Clamped);
        // DeepSeek's split: 60 hit × 0.000000028 + 40 miss × 0.00000028 + 10 × 0.00000042
        var split = Usage(100, 10);
        split.AdditionalProperties = new Dictionary<string, System.Text.Json.JsonElement>
        {
            ["prompt_cache_hit_tokens"] = System.Text.Json.JsonDocument.Parse("60").RootElement,
            ["prompt_cache_miss_tokens"] = System.Text.Json.JsonDocument.Parse("40").RootElement,
        };
        Assert.Equal(0.00001708m, CostCalculator.Compute("deepseek-chat", created, split, book)!.Usd);
        // An embedding entry is not read; a completion without usage is unpriced, not free.
        Assert.Null(CostCalculator.Compute("text-embedding-3-small", created, Usage(10, 0), book));
        Assert.Null(CostCalculator.Compute("gpt-4o-mini-2024-07-18", created, null, book));
        Assert.DoesNotContain("sample_spec", Prices.Models.Keys);
        Assert.Equal(0.00000015m, Prices.Models["gpt-4o-mini-2024-07-18"][PriceTokenClass.Input]);
    }

    [Fact]
    public async Task A_price_change_holds_from_its_time_on_and_reprice_applies_the_current_table()
    {
        var store = database.CreateStore(new ChatCompletionStoreOptions { UseDefaultPrices = false }).ForTenant("reprice-" + TestCompletions.Unique());
        var model = "reprice-model-" + TestCompletions.Unique();
        var change = DateTimeOffset.FromUnixTimeSeconds(1_800_000_000);
        await store.ImportPricesAsync(PriceTable.Parse(Entry(model, "1e-06", "2e-06")), DateTimeOffset.FromUnixTimeSeconds(1_700_000_000), Token);
        var before = Completion(model, change.AddDays(-1), 100, 10);
        var after = Completion(model, change.AddDays(1), 100, 10);
        await store.SaveAsync(before, Token);
        await store.SaveAsync(after, Token);
        // 100 × 0.000001 + 10 × 0.000002, for both
        Assert.Equal(0.00012m, (await store.GetWithVersionAsync(after.Id, Token))!.Cost!.Usd);

        await store.ImportPricesAsync(PriceTable.Parse(Entry(model, "3e-06", "4e-06")), change, Token);
        var later = Completion(model, change.AddDays(2), 100, 10);
        await store.SaveAsync(later, Token);
        // Priced at the new price: 100 × 0.000003 + 10 × 0.000004; the stored ones keep theirs until repriced.
        Assert.Equal(0.00034m, (await store.GetWithVersionAsync(later.Id, Token))!.Cost!.Usd);
        Assert.Equal(0.00012m, (await store.GetWithVersionAsync(after.Id, Token))!.Cost!.Usd);
        Assert.Equal(0.00012m + 0.00012m + 0.00034m, Assert.Single(await store.GetUsageAsync(cancellationToken: Token)).Cost);

        Assert.Equal(1, await store.RepriceAsync(new ChatCompletionFilter { Model = model }, Token));
        Assert.Equal(0.00012m, (await store.GetWithVersionAsync(before.Id, Token))!.Cost!.Usd);
        Assert.Equal(0.00034m, (await store.GetWithVersionAsync(after.Id, Token))!.Cost!.Usd);
        Assert.Equal(0, await store.RepriceAsync(cancellationToken: Token));

        // The totals (whole days from the rollup) equal the sum of the rows; retention leaves them as they were, since
        // usage and its cost are a record of what was stored.
        var byDay = await store.GetUsageAsync(grouping: new ChatCompletionUsageGrouping { ByDay = true }, cancellationToken: Token);
        Assert.Equal([0.00012m, 0.00034m, 0.00034m], byDay.Select(t => t.Cost));
        Assert.Equal(1, await store.DeleteCreatedBeforeAsync(change, filter: null, Token));
        Assert.Equal(0.00080m, Assert.Single(await store.GetUsageAsync(cancellationToken: Token)).Cost);
        var prices = await store.ListPricesAsync(Token);
        Assert.Equal(4, prices.Count(p => p.Model == model));
    }

    private static ReadOnlySpan<byte> Entry(string model, string input, string output) =>
        System.Text.Encoding.UTF8.GetBytes($$$"""{"{{{model}}}": {"input_cost_per_token": {{{input}}}, "output_cost_per_token": {{{output}}}, "mode": "chat"}}""");

    private static ChatUsage Usage(long prompt, long completion, long? cached = null) => new()
    {
        PromptTokens = prompt,
        CompletionTokens = completion,
        TotalTokens = prompt + completion,
        PromptTokensDetails = cached is null ? null : new ChatPromptTokensDetails { CachedTokens = cached },
    };

    private static ChatCompletion Completion(string model, DateTimeOffset created, long prompt, long completion)
    {
        var c = TestCompletions.Completion(id: "chatcmpl-" + TestCompletions.Unique(), model: model);
        c.Created = created;
        c.Usage = Usage(prompt, completion);
        return c;
    }
}

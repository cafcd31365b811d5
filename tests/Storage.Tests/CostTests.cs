using System.Globalization;
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
    // Test prices, USD per token, effective from the start of time: most of the fixtures' models, with a class of each
    // kind (cache read, cache write, reasoning, audio in and out) and models without some of them (so the fallbacks
    // run). Reasoning prices are made up: no vendor prices reasoning apart from output today.
    private static readonly PriceTable Prices = PriceTable.Parse("""
        {
          "sample_spec": {"input_cost_per_token": 1, "mode": "chat"},
          "gpt-4o-mini-2024-07-18": {"input_cost_per_token": 1.5e-07, "cache_read_input_token_cost": 7.5e-08, "output_cost_per_token": 6e-07, "mode": "chat", "max_tokens": 16384},
          "gpt-4o-mini": {"input_cost_per_token": 1.5e-07, "output_cost_per_token": 6e-07, "mode": "chat"},
          "gpt-4o-2024-08-06": {"input_cost_per_token": 2.5e-06, "cache_read_input_token_cost": 1.25e-06, "output_cost_per_token": 1e-05, "mode": "chat"},
          "gpt-4o-2024-11-20": {"input_cost_per_token": 2.5e-06, "cache_read_input_token_cost": 1.25e-06, "output_cost_per_token": 1e-05, "mode": "chat"},
          "gpt-4o-search-preview-2025-03-11": {"input_cost_per_token": 2.5e-06, "output_cost_per_token": 1e-05, "mode": "chat"},
          "gpt-5-2025-08-07": {"input_cost_per_token": 1.25e-06, "cache_read_input_token_cost": 1.25e-07, "output_cost_per_token": 1e-05, "mode": "chat"},
          "gpt-5-mini": {"input_cost_per_token": 2.5e-07, "cache_read_input_token_cost": 2.5e-08, "output_cost_per_token": 2e-06, "mode": "chat"},
          "gpt-5.4": {"input_cost_per_token": 2.5e-06, "cache_read_input_token_cost": 2.5e-07, "output_cost_per_token": 1.5e-05, "mode": "chat"},
          "gpt-5.4-2026-03-05": {"input_cost_per_token": 2.5e-06, "cache_read_input_token_cost": 2.5e-07, "output_cost_per_token": 1.5e-05, "mode": "chat"},
          "gpt-audio-1.5": {"input_cost_per_token": 2.5e-06, "output_cost_per_token": 1e-05, "input_cost_per_audio_token": 3.2e-05, "output_cost_per_audio_token": 6.4e-05, "mode": "chat"},
          "gpt-oss-120b": {"input_cost_per_token": 1e-07, "output_cost_per_token": 5e-07, "mode": "chat"},
          "deepseek-chat": {"input_cost_per_token": 2.8e-07, "cache_read_input_token_cost": 2.8e-08, "output_cost_per_token": 4.2e-07, "mode": "chat"},
          "deepseek-reasoner": {"input_cost_per_token": 5.5e-07, "cache_read_input_token_cost": 1.4e-07, "output_cost_per_token": 2.19e-06, "output_cost_per_reasoning_token": 3e-06, "mode": "chat"},
          "gemini-2.5-pro-preview-05-06": {"input_cost_per_token": 1.25e-06, "cache_read_input_token_cost": 1.25e-07, "output_cost_per_token": 1e-05, "mode": "chat"},
          "mistral-large-latest": {"input_cost_per_token": 2e-06, "cache_read_input_token_cost": 2e-07, "output_cost_per_token": 6e-06, "mode": "chat"},
          "magistral-medium-latest": {"input_cost_per_token": 2e-06, "output_cost_per_token": 5e-06, "mode": "chat"},
          "magistral-small-latest": {"input_cost_per_token": 5e-07, "output_cost_per_token": 1.5e-06, "mode": "chat"},
          "claude-sonnet-4-6": {"input_cost_per_token": 3e-06, "cache_read_input_token_cost": 3e-07, "cache_creation_input_token_cost": 3.75e-06, "output_cost_per_token": 1.5e-05, "mode": "chat"},
          "GLM-5.2": {"input_cost_per_token": 6e-07, "output_cost_per_token": 2.2e-06, "output_cost_per_reasoning_token": 4.4e-06, "mode": "chat"},
          "text-embedding-3-small": {"input_cost_per_token": 2e-08, "output_cost_per_token": 0, "mode": "embedding"}
        }
        """u8);

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    /// <summary>
    /// Every shared fixture and every sample, priced by hand from its usage and <see cref="Prices"/>: the terms (count ×
    /// USD per token, in the calculator's order: cached, cache writes, audio, the rest of the prompt; reasoning, audio, the
    /// rest of the completion; a count the body reports as 0 is still stated), their sum worked out by hand, and where the
    /// cost comes from. A reported cost is its one term; an unpriced completion has neither.
    /// </summary>
    public static TheoryData<string, string?, string?, ChatCompletionCostSource?> FixtureCosts => new()
    {
        // gpt-4o-2024-11-20: 0 cached, 0 audio of 14 prompt; 0 reasoning, 0 audio of 9 completion
        { "azure-content-filter-results.json", "0 × 1.25e-06 + (14 - 0) × 2.5e-06 + (9 - 0) × 1e-05", "0.000125", ChatCompletionCostSource.Prices },
        { "azure-routing-latency-checkpoint.json", "0 × 2.5e-07 + (19 - 0) × 2.5e-06 + (5 - 0) × 1.5e-05", "0.0001225", ChatCompletionCostSource.Prices },
        // gpt-oss-120b has no reasoning price: its 25 reasoning tokens fall back to the output price
        { "cerebras-time-info.json", "0 × 1e-07 + (79 - 0) × 1e-07 + 25 × 5e-07 + (37 - 25) × 5e-07", "0.0000264", ChatCompletionCostSource.Prices },
        // DeepSeek's own split: 0 prompt_cache_hit_tokens, 12 misses
        { "deepseek-chat-chinese-uuid-id.json", "0 × 2.8e-08 + (12 - 0) × 2.8e-07 + 28 × 4.2e-07", "0.00001512", ChatCompletionCostSource.Prices },
        // cached_tokens 0 (prompt_tokens_details, read before DeepSeek's equal hit count); 415 reasoning of 789
        { "deepseek-reasoner-reasoning-content.json", "0 × 1.4e-07 + (12 - 0) × 5.5e-07 + 415 × 3e-06 + (789 - 415) × 2.19e-06", "0.00207066", ChatCompletionCostSource.Prices },
        // No details. Gemini counts its thinking only in total_tokens (109 − 35 − 12 = 62 tokens): they are not in
        // completion_tokens, so they are not priced.
        { "gemini-openai-compat-empty-tool-id.json", "35 × 1.25e-06 + 12 × 1e-05", "0.00016375", ChatCompletionCostSource.Prices },
        // "groq/compound", nor "compound", is not in the table
        { "groq-compound-executed-tools.json", null, null, null },
        // "azure/gpt-5.4" priced as "gpt-5.4", its provider prefix removed
        { "litellm-normalized-provider-specific-fields.json", "0 × 2.5e-07 + (19 - 0) × 2.5e-06 + (5 - 0) × 1.5e-05", "0.0001225", ChatCompletionCostSource.Prices },
        { "mistral-magistral-content-chunks.json", "664 × 2e-06 + 747 × 5e-06", "0.005063", ChatCompletionCostSource.Prices },
        // Mistral's own cache count: 69 num_cached_tokens of 70 prompt tokens
        { "mistral-tool-call-no-type.json", "69 × 2e-07 + (70 - 69) × 2e-06 + 12 × 6e-06", "0.0000878", ChatCompletionCostSource.Prices },
        // "gpt-oss:20b" is not in the table (a tag, not a provider prefix)
        { "ollama-gpt-oss-tool-call.json", null, null, null },
        // gpt-audio-1.5 has no cache price: 0 cached at the input price; 17 audio of 28 prompt; 93 audio of 125 completion
        { "openai-audio-output-full-base64.json", "0 × 2.5e-06 + 17 × 3.2e-05 + (28 - 0 - 17) × 2.5e-06 + 0 × 1e-05 + 93 × 6.4e-05 + (125 - 0 - 93) × 1e-05", "0.0068435", ChatCompletionCostSource.Prices },
        { "openai-hello-basic.json", "0 × 7.5e-08 + (11 - 0) × 1.5e-07 + (9 - 0) × 6e-07", "0.00000705", ChatCompletionCostSource.Prices },
        { "openai-legacy-function-call.json", "0 × 7.5e-08 + (75 - 0) × 1.5e-07 + (19 - 0) × 6e-07", "0.00002265", ChatCompletionCostSource.Prices },
        // No prompt details; 0 reasoning of 1
        { "openai-length-truncated.json", "79 × 2.5e-06 + 0 × 1e-05 + (1 - 0) × 1e-05", "0.0002075", ChatCompletionCostSource.Prices },
        { "openai-logprobs-top3-long.json", "0 × 7.5e-08 + (22 - 0) × 1.5e-07 + (844 - 0) × 6e-07", "0.0005097", ChatCompletionCostSource.Prices },
        { "openai-moderation-results.json", "0 × 1.25e-07 + (13 - 0) × 1.25e-06 + 0 × 1e-05 + (11 - 0) × 1e-05", "0.00012625", ChatCompletionCostSource.Prices },
        { "openai-n3-multiple-choices.json", "79 × 2.5e-06 + 0 × 1e-05 + (44 - 0) × 1e-05", "0.0006375", ChatCompletionCostSource.Prices },
        { "openai-parallel-tool-calls.json", "0 × 7.5e-08 + (81 - 0) × 1.5e-07 + (52 - 0) × 6e-07", "0.00004335", ChatCompletionCostSource.Prices },
        // The 16 accepted prediction tokens are part of the 17 completion tokens, billed as output like the rest
        { "openai-predicted-outputs-usage.json", "0 × 7.5e-08 + (58 - 0) × 1.5e-07 + (17 - 0) × 6e-07", "0.0000189", ChatCompletionCostSource.Prices },
        { "openai-spec-logprobs-bytes-null.json", "9 × 1.5e-07 + 0 × 6e-07 + (9 - 0) × 6e-07", "0.00000675", ChatCompletionCostSource.Prices },
        { "openai-stored-retrieve-extra-fields.json", "14 × 1.5e-07 + 5 × 6e-07", "0.0000051", ChatCompletionCostSource.Prices },
        { "openai-stored-update-metadata.json", "14 × 1.5e-07 + 5 × 6e-07", "0.0000051", ChatCompletionCostSource.Prices },
        { "openai-structured-refusal.json", "0 × 1.25e-06 + (95 - 0) × 2.5e-06 + 0 × 1e-05 + (13 - 0) × 1e-05", "0.0003675", ChatCompletionCostSource.Prices },
        // The search's per-call fee is not in usage, so not in the cost
        { "openai-web-search-url-citations.json", "0 × 2.5e-06 + (9 - 0) × 2.5e-06 + 0 × 1e-05 + (484 - 0) × 1e-05", "0.0048625", ChatCompletionCostSource.Prices },
        // OpenRouter's usage.cost, as reported, although the table prices "gpt-5-mini" and "deepseek-chat" too
        { "openrouter-reasoning-details-cost.json", "0.00435825", "0.00435825", ChatCompletionCostSource.Reported },
        { "openrouter-web-search-annotations.json", "0.007637029", "0.007637029", ChatCompletionCostSource.Reported },
        { "snowflake-cortex-empty-strings.json", "0 × 3e-07 + (568 - 0) × 3e-06 + 0 × 1.5e-05 + (55 - 0) × 1.5e-05", "0.002529", ChatCompletionCostSource.Prices },
        // "deepseek-ai/DeepSeek-R1", nor "DeepSeek-R1", is not in the table (Together's top-level cached_tokens is 0)
        { "together-deepseek-r1-think-seed.json", null, null, null },
        // "zai/GLM-5.2" priced as "GLM-5.2", with its own reasoning price: 25 reasoning of 37
        { "vllm-crusoe-int-stop-reason.json", "0 × 6e-07 + (167 - 0) × 6e-07 + 25 × 4.4e-06 + (37 - 25) × 2.2e-06", "0.0002366", ChatCompletionCostSource.Prices },

        // The samples.
        { "01-support-answer.json", "0 × 7.5e-08 + (48 - 0) × 1.5e-07 + 0 × 6e-07 + (15 - 0) × 6e-07", "0.0000162", ChatCompletionCostSource.Prices },
        { "02-weather-tool-call.json", "80 × 2.5e-06 + 42 × 1e-05", "0.00062", ChatCompletionCostSource.Prices },
        // usage.cost 4.12e-05 beside DeepSeek's fields: reported wins
        { "03-reasoning-vendor-extensions.json", "4.12e-05", "0.0000412", ChatCompletionCostSource.Reported },
        { "04-content-parts.json", "12 × 5e-07 + 40 × 1.5e-06", "0.000066", ChatCompletionCostSource.Prices },
        // "llama3.2:3b" is not in the table
        { "05-two-choices-local-model.json", null, null, null },
    };

    [Fact]
    public void Every_shared_fixture_and_every_sample_has_a_hand_price()
    {
        var priced = FixtureCosts.Select(row => (string)row.Data.Item1).ToList();
        Assert.Equal(priced.Count, priced.Distinct(StringComparer.Ordinal).Count());
        var files = Fixtures.AllCompletionFiles.Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
        // Without the shared fixtures beside the clone, only the samples are here to compare.
        var expected = priced.Where(f => Fixtures.SharedCompletionsDirectory is not null || File.Exists(Path.Combine(Fixtures.SamplesDirectory, f)));
        Assert.Equal(expected.Order(StringComparer.Ordinal), files);
    }

    [Theory]
    [MemberData(nameof(FixtureCosts))]
    public async Task A_shared_fixture_or_sample_costs_what_it_costs_by_hand_on_both_write_paths(string file, string? terms, string? usd, ChatCompletionCostSource? source)
    {
        var path = Path.Combine(Fixtures.SamplesDirectory, file);
        if (!File.Exists(path))
        {
            Assert.SkipWhen(Fixtures.SharedCompletionsDirectory is null, "The shared fixtures are not beside the clone.");
            path = Path.Combine(Fixtures.SharedCompletionsDirectory!, file);
        }

        decimal? expected = usd is null ? null : decimal.Parse(usd, NumberStyles.Float, CultureInfo.InvariantCulture);
        Assert.Equal(expected, terms is null ? null : Sum(terms));
        await using var root = database.CreateStore(new ChatCompletionStoreOptions { Prices = Prices, UseDefaultPrices = false });
        var run = TestCompletions.Unique();
        var single = root.ForTenant("fixtures-single-" + run);
        var bulk = root.ForTenant("fixtures-bulk-" + run);
        var json = Fixtures.Read(path);
        var completion = ChatCompletionJson.Parse(json);
        Assert.Equal(SaveOutcome.Stored, await single.SaveAsync(completion, Token));
        await foreach (var result in bulk.SaveManyAsync([ChatCompletionJson.Parse(json)], Token))
        {
            Assert.Equal(SaveOutcome.Stored, result.Outcome);
        }

        foreach (var store in new[] { single, bulk })
        {
            var cost = (await store.GetWithVersionAsync(completion.Id, Token))!.Cost;
            Assert.Equal(expected, cost?.Usd);
            Assert.Equal(source, cost?.Source);
            Assert.False(cost?.Clamped ?? false);
            var totals = Assert.Single(await store.GetUsageAsync(cancellationToken: Token));
            Assert.Equal(expected ?? 0, totals.Cost);
            Assert.Equal(expected is null ? 1 : 0, totals.Unpriced);
        }
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
        // Mistral's count: 60 num_cached_tokens × 0.0000002 + (100 − 60) × 0.000002 + 10 × 0.000006
        var mistral = Usage(100, 10);
        mistral.AdditionalProperties = new Dictionary<string, System.Text.Json.JsonElement> { ["num_cached_tokens"] = System.Text.Json.JsonDocument.Parse("60").RootElement };
        Assert.Equal(0.000152m, CostCalculator.Compute("mistral-large-latest", created, mistral, book)!.Usd);
        // Cache writes: 200 cached × 0.0000003 + 300 written × 0.00000375 + (1000 − 200 − 300) × 0.000003 + 10 × 0.000015
        var writes = Usage(1000, 10, cached: 200);
        writes.PromptTokensDetails!.CacheWriteTokens = 300;
        Assert.Equal(0.002835m, CostCalculator.Compute("claude-sonnet-4-6", created, writes, book)!.Usd);
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

    [Fact]
    public async Task Retention_that_drops_a_partition_leaves_the_cost_of_what_was_stored()
    {
        var model = "retention-model-" + TestCompletions.Unique();
        await using var root = database.CreateStore(new ChatCompletionStoreOptions { Prices = PriceTable.Parse(Entry(model, "1e-06", "2e-06")), UseDefaultPrices = false });
        var store = root.ForTenant("retention-" + TestCompletions.Unique());
        // February 2019 holds this tenant's completions alone (the class's other tests store none before 2023), so
        // retention drops its partition; the cutoff cuts March, whose early row is deleted.
        ChatCompletion[] completions =
        [
            Completion(model, Utc(2019, 2, 10), 100, 10), Completion(model, Utc(2019, 2, 20), 200, 20),
            Completion(model, Utc(2019, 3, 5), 300, 30), Completion(model, Utc(2019, 3, 25), 400, 40),
        ];
        foreach (var completion in completions)
        {
            Assert.Equal(SaveOutcome.Stored, await store.SaveAsync(completion, Token));
        }

        await store.EnsurePartitionsAsync(cancellationToken: Token);
        var byDay = new ChatCompletionUsageGrouping { ByDay = true };
        var before = await store.GetUsageAsync(grouping: byDay, cancellationToken: Token);
        // n prompt × 0.000001 + n/10 completion × 0.000002 for n = 100, 200, 300, 400
        Assert.Equal([0.00012m, 0.00024m, 0.00036m, 0.00048m], before.Select(t => t.Cost));

        Assert.Equal(3, await store.DeleteCreatedBeforeAsync(Utc(2019, 3, 15), filter: null, Token));

        var partitions = await store.ListPartitionsAsync(Token);
        Assert.DoesNotContain(partitions, p => p.Name == "chat_completions_p20190201");
        Assert.Contains(partitions, p => p.Name == "chat_completions_p20190301");
        Assert.Equal(before, await store.GetUsageAsync(grouping: byDay, cancellationToken: Token));
        Assert.Equal(0.0012m, Assert.Single(await store.GetUsageAsync(cancellationToken: Token)).Cost);
    }

    [Fact]
    public async Task The_cost_counter_adds_each_stored_completion_once_tagged_with_its_model()
    {
        var model = "counted-model-" + TestCompletions.Unique();
        var unpriced = "unpriced-model-" + TestCompletions.Unique();
        var measured = new System.Collections.Concurrent.ConcurrentQueue<(double Usd, string? Model)>();
        using var listener = new System.Diagnostics.Metrics.MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == StorageTelemetry.MeterName && instrument.Name == "storage.cost")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        // Other test classes store completions at the same time: keep only this test's models.
        listener.SetMeasurementEventCallback<double>((_, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "model" && tag.Value is string name && (name == model || name == unpriced))
                {
                    measured.Enqueue((value, name));
                }
            }
        });
        listener.Start();

        await using var root = database.CreateStore(new ChatCompletionStoreOptions { Prices = PriceTable.Parse(Entry(model, "1e-06", "2e-06")), UseDefaultPrices = false });
        var store = root.ForTenant("counter-" + TestCompletions.Unique());
        var first = Completion(model, DateTimeOffset.FromUnixTimeSeconds(1_750_000_000), 100, 10);
        var second = Completion(model, DateTimeOffset.FromUnixTimeSeconds(1_750_000_001), 200, 20);
        Assert.Equal(SaveOutcome.Stored, await store.SaveAsync(first, Token));
        Assert.Equal(SaveOutcome.AlreadyStored, await store.SaveAsync(Copy(first), Token));
        await foreach (var result in store.SaveManyAsync([Copy(first), second, Completion(unpriced, DateTimeOffset.FromUnixTimeSeconds(1_750_000_002), 5, 5)], Token))
        {
            Assert.Null(result.Error);
        }

        // 100 × 0.000001 + 10 × 0.000002, and 200 × 0.000001 + 20 × 0.000002; the replays and the unpriced one add nothing.
        Assert.Equal([((double)0.00012m, model), ((double)0.00024m, model)], measured.OrderBy(m => m.Usd));
    }

    // The sum of terms written "a × b + (c - d) × e + …" (counts, differences of counts, prices), computed exactly.
    private static decimal Sum(string terms) =>
        terms.Split(" + ").Sum(term => term.Split(" × ").Aggregate(1m, (product, factor) => product * Factor(factor)));

    private static decimal Factor(string factor) =>
        factor.StartsWith('(') ? factor.Trim('(', ')').Split(" - ").Select(Number).Aggregate((a, b) => a - b) : Number(factor);

    private static decimal Number(string text) => decimal.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture);

    private static DateTimeOffset Utc(int year, int month, int day) => new(year, month, day, 0, 0, 0, TimeSpan.Zero);

    private static ChatCompletion Copy(ChatCompletion completion) => ChatCompletionJson.Parse(ChatCompletionJson.Serialize(completion));

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

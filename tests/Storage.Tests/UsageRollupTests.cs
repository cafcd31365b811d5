using Microsoft.EntityFrameworkCore;
using Storage.Internal;

namespace Storage.Tests;

/// <summary>
/// The per-day and per-hour usage rollups that triggers keep: after saves, replays, bulk batches, metadata updates and a
/// rollback in two tenants, each equals a GROUP BY of the rows, and usage totals read through them equal a full scan for
/// every kind of range, including partial days and hours, random ranges, and bounds at the edges of what .NET can hold. In a third tenant, a delete by id,
/// retention with and without a filter and a raw DELETE leave it equal to the GROUP BY taken before them: the totals are
/// a record of what was stored, which deleting content does not change.
/// </summary>
public sealed class UsageRollupTests(MigratedDatabase database) : IClassFixture<MigratedDatabase>, IAsyncLifetime
{
    private const string Tenant = "rollup-tenant";

    // The tenant whose completions are deleted after they were stored; the rollup keeps what was stored.
    private const string History = "rollup-history";

    // The rollup's rows with a completion, and the same sums computed from the rows, as text to compare whole.
    private const string RollupRows = """
        SELECT tenant, day, model, sum(completions), sum(prompt_tokens), sum(completion_tokens), sum(total_tokens), sum(cached_tokens), sum(reasoning_tokens), sum(cost), sum(unpriced)
        FROM chat_completion_usage_daily WHERE tenant <> 'rollup-history' GROUP BY 1, 2, 3 HAVING sum(completions) <> 0
        """;

    private const string HistoryRollupRows = """
        SELECT tenant, day, model, sum(completions), sum(prompt_tokens), sum(completion_tokens), sum(total_tokens), sum(cached_tokens), sum(reasoning_tokens), sum(cost), sum(unpriced)
        FROM chat_completion_usage_daily WHERE tenant = 'rollup-history' GROUP BY 1, 2, 3 HAVING sum(completions) <> 0
        """;

    private const string HourlyRollupRows = """
        SELECT tenant, hour, model, sum(completions), sum(prompt_tokens), sum(completion_tokens), sum(total_tokens), sum(cached_tokens), sum(reasoning_tokens), sum(cost), sum(unpriced)
        FROM chat_completion_usage_hourly WHERE tenant <> 'rollup-history' GROUP BY 1, 2, 3 HAVING sum(completions) <> 0
        """;

    private const string RecomputedRows = """
        SELECT tenant, (created AT TIME ZONE 'UTC')::date, model, count(*), sum(coalesce(usage_prompt_tokens, 0)),
            sum(coalesce(usage_completion_tokens, 0)), sum(coalesce(usage_total_tokens, 0)),
            sum(CASE WHEN jsonb_typeof(usage_prompt_tokens_details -> 'cached_tokens') = 'number' THEN (usage_prompt_tokens_details ->> 'cached_tokens')::numeric ELSE 0 END),
            sum(CASE WHEN jsonb_typeof(usage_completion_tokens_details -> 'reasoning_tokens') = 'number' THEN (usage_completion_tokens_details ->> 'reasoning_tokens')::numeric ELSE 0 END),
            sum(coalesce(cost, 0)), count(*) FILTER (WHERE cost IS NULL)
        FROM chat_completions WHERE tenant <> 'rollup-history' GROUP BY 1, 2, 3
        """;

    // The same sums per UTC hour.
    private static string RecomputedHourlyRows =>
        RecomputedRows.Replace("(created AT TIME ZONE 'UTC')::date", "date_trunc('hour', created AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'", StringComparison.Ordinal);

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        if (await database.ScalarAsync("SELECT count(*) FROM chat_completions") > 0)
        {
            return;
        }

        await using var store = database.CreateStore();
        var seeded = QueryData.Build("chatcmpl-rollup", count: 160, seed: 11, hugeUsage: true).Select(s => s.Completion).ToList();
        // Half one by one, half in bulk batches that repeat items and replay stored ones: replays must add nothing.
        foreach (var completion in seeded.Take(80))
        {
            Assert.Equal(SaveOutcome.Stored, await store.SaveAsync(completion, Token));
        }

        var bulk = seeded.Skip(80).Concat(seeded.Skip(70).Take(20)).Concat(seeded.Skip(100).Take(5)).Select(Copy).ToList();
        await foreach (var result in store.SaveManyAsync(bulk, Token))
        {
            Assert.Null(result.Error);
        }

        await foreach (var result in store.ForTenant(Tenant).SaveManyAsync(seeded.Take(60).Select(Copy), Token))
        {
            Assert.Equal(SaveOutcome.Stored, result.Outcome);
        }

        // Updates that leave usage alone, and a transaction that rolls back.
        await store.UpdateMetadataAsync(seeded[3].Id, new Dictionary<string, string> { ["env"] = "changed" }, cancellationToken: Token);
        // A price for a model that had none, effective mid-range, then a reprice: costs and unpriced counts move exactly.
        await store.ImportPricesAsync(
            PriceTable.Parse("""{"mistral-small": {"input_cost_per_token": 1e-7, "output_cost_per_token": 3e-7, "mode": "chat"}}"""u8), QueryData.Instant(6), Token);
        Assert.True(await store.RepriceAsync(cancellationToken: Token) > 0);
        Assert.True(await store.ForTenant(Tenant).RepriceAsync(new ChatCompletionFilter { CreatedFrom = QueryData.Instant(3) }, Token) > 0);
        await database.ExecuteAsync("BEGIN; INSERT INTO chat_completions (completion_key, created, id, object, model, content_hash, cost_clamped, usage_total_tokens) " +
            "VALUES (7, '2025-03-02', 'rolled-back', 'chat.completion', 'gpt-4o', '\\x00', false, 1000); ROLLBACK;");

        // The history tenant: stored, its GROUP BY kept, then deleted one by id, by retention with a filter and without,
        // and by a raw DELETE, all after they were counted.
        var history = store.ForTenant(History);
        await foreach (var result in history.SaveManyAsync(seeded.Take(50).Select(Copy), Token))
        {
            Assert.Equal(SaveOutcome.Stored, result.Outcome);
        }

        await database.ExecuteAsync(
            $"CREATE TABLE history_expected AS SELECT * FROM ({RecomputedRows.Replace("tenant <> 'rollup-history'", "tenant = 'rollup-history'", StringComparison.Ordinal)}) " +
            "AS r (tenant, day, model, completions, prompt_tokens, completion_tokens, total_tokens, cached_tokens, reasoning_tokens, cost, unpriced)");
        await database.ExecuteAsync(
            $"CREATE TABLE history_expected_hourly AS SELECT * FROM ({RecomputedHourlyRows.Replace("tenant <> 'rollup-history'", "tenant = 'rollup-history'", StringComparison.Ordinal)}) " +
            "AS r (tenant, hour, model, completions, prompt_tokens, completion_tokens, total_tokens, cached_tokens, reasoning_tokens, cost, unpriced)");
        Assert.True(await history.DeleteAsync(seeded[5].Id, Token));
        var pruned = await history.DeleteCreatedBeforeAsync(QueryData.Instant(30), new ChatCompletionFilter { Model = QueryData.Models[1] }, Token);
        pruned += await history.DeleteCreatedBeforeAsync(QueryData.Instant(10), cancellationToken: Token);
        Assert.True(pruned > 5);
        await database.ExecuteAsync("DELETE FROM chat_completions WHERE tenant = 'rollup-history' AND model = 'gpt-4o'");
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    [Fact]
    public async Task Deleting_completions_leaves_the_usage_they_were_stored_with()
    {
        const string Expected = "SELECT * FROM history_expected";
        Assert.True(await database.ScalarAsync("SELECT count(*) FROM chat_completions WHERE tenant = 'rollup-history'") < 50);
        Assert.Equal(0, await database.ScalarAsync($"SELECT count(*) FROM (({HistoryRollupRows}) EXCEPT ({Expected})) AS extra"));
        Assert.Equal(0, await database.ScalarAsync($"SELECT count(*) FROM (({Expected}) EXCEPT ({HistoryRollupRows})) AS missing"));
        var hourly = HourlyRollupRows.Replace("tenant <> 'rollup-history'", "tenant = 'rollup-history'", StringComparison.Ordinal);
        Assert.Equal(0, await database.ScalarAsync($"SELECT count(*) FROM (({hourly}) EXCEPT (SELECT * FROM history_expected_hourly)) AS extra"));
        Assert.Equal(0, await database.ScalarAsync($"SELECT count(*) FROM ((SELECT * FROM history_expected_hourly) EXCEPT ({hourly})) AS missing"));
        await using var store = database.CreateStore();
        var totals = await store.ForTenant(History).GetUsageAsync(cancellationToken: Token);
        Assert.Equal(50, totals[0].Completions);
        // A range of whole hours that cuts days, read from both rollups: what was stored there, deleted since or not.
        // (Only partial hours at a range's ends are read from the rows, which count what is left.)
        var (from, end) = (QueryData.Start.AddHours(5), QueryData.Start.AddDays(4).AddHours(3));
        var expected = await database.ScalarAsync($"SELECT sum(completions) FROM history_expected_hourly WHERE hour >= '{from:O}' AND hour < '{end:O}'");
        var partial = await store.ForTenant(History).GetUsageAsync(new ChatCompletionFilter { CreatedFrom = from, CreatedTo = end.AddSeconds(-1) }, cancellationToken: Token);
        Assert.True(expected > 10);
        Assert.Equal(expected, partial[0].Completions);
    }

    [Fact]
    public async Task The_rollup_equals_a_group_by_of_the_rows()
    {
        Assert.Equal(0, await database.ScalarAsync($"SELECT count(*) FROM (({RollupRows}) EXCEPT ({RecomputedRows})) AS extra"));
        Assert.Equal(0, await database.ScalarAsync($"SELECT count(*) FROM (({RecomputedRows}) EXCEPT ({RollupRows})) AS missing"));
        Assert.True(await database.ScalarAsync($"SELECT count(*) FROM ({RollupRows}) AS rows") > 8);
    }

    [Fact]
    public async Task The_hourly_rollup_equals_a_group_by_of_the_rows_by_hour()
    {
        Assert.Equal(0, await database.ScalarAsync($"SELECT count(*) FROM (({HourlyRollupRows}) EXCEPT ({RecomputedHourlyRows})) AS extra"));
        Assert.Equal(0, await database.ScalarAsync($"SELECT count(*) FROM (({RecomputedHourlyRows}) EXCEPT ({HourlyRollupRows})) AS missing"));
        Assert.True(await database.ScalarAsync($"SELECT count(*) FROM ({HourlyRollupRows}) AS rows") > 100);
    }

    [Fact]
    public async Task Totals_through_the_rollups_equal_a_scan_for_random_ranges()
    {
        // Ranges of a second to three weeks, starting anywhere from a day before the data to a day after it, at any second.
        var random = new Random(17);
        var span = (long)(QueryData.Instant(160) - QueryData.Start).TotalSeconds;
        for (var i = 0; i < 60; i++)
        {
            var from = QueryData.Start.AddSeconds(random.NextInt64(-86_400, span + 86_400));
            var to = from.AddSeconds(random.NextInt64(0, 21 * 86_400));
            var filter = new ChatCompletionFilter { CreatedFrom = from, CreatedTo = to, Model = i % 3 == 0 ? QueryData.Models[0] : null };
            var grouping = new ChatCompletionUsageGrouping { ByModel = i % 2 == 0, ByDay = i % 4 < 2 };
            var tenant = i % 5 == 0 ? Tenant : "";
            Assert.Equal(await RunAsync(tenant, UsageQuery.BuildScan(tenant, onCitus: false, filter, grouping)), await RunAsync(tenant, UsageQuery.BuildFromRollup(tenant, filter, grouping)));
        }
    }

    public static TheoryData<string> Ranges =>
    [
        "unbounded", "whole days", "partial days", "within one day", "one second", "from only", "to only",
        "from after to", "last second of a day", "beyond the data", "edges of time", "sub-second bounds",
        "partial hours", "within one hour", "across midnight", "whole hours", "last day of time", "last hour of time",
    ];

    [Theory]
    [MemberData(nameof(Ranges))]
    public async Task Totals_through_the_rollup_equal_a_scan_for_every_range_and_grouping(string range)
    {
        var (from, to) = Range(range);
        foreach (var tenant in new[] { "", Tenant })
        {
            foreach (var model in new string?[] { null, QueryData.Models[0], "no-such-model" })
            {
                var filter = new ChatCompletionFilter { CreatedFrom = from, CreatedTo = to, Model = model };
                foreach (var (byModel, byDay) in new[] { (false, false), (true, false), (false, true), (true, true) })
                {
                    var grouping = new ChatCompletionUsageGrouping { ByModel = byModel, ByDay = byDay };
                    var scanned = await RunAsync(tenant, UsageQuery.BuildScan(tenant, onCitus: false, filter, grouping));
                    var rolled = await RunAsync(tenant, UsageQuery.BuildFromRollup(tenant, filter, grouping));
                    Assert.Equal(scanned, rolled);
                }
            }
        }
    }

    [Fact]
    public async Task The_store_reads_usage_without_metadata_through_the_rollup()
    {
        await using var store = database.CreateStore();
        var filter = new ChatCompletionFilter { CreatedFrom = QueryData.Start, CreatedTo = QueryData.Instant(39) };

        var totals = await store.GetUsageAsync(filter, new ChatCompletionUsageGrouping { ByModel = true }, Token);

        Assert.Contains(UsageQuery.RollupTable, UsageQuery.Build("", onCitus: false, filter, new ChatCompletionUsageGrouping()).Sql, StringComparison.Ordinal);
        Assert.DoesNotContain(UsageQuery.RollupTable, UsageQuery.Build("", onCitus: false, new ChatCompletionFilter { Metadata = new Dictionary<string, string> { ["a"] = "b" } }, new ChatCompletionUsageGrouping()).Sql, StringComparison.Ordinal);
        Assert.Equal(await RunAsync("", UsageQuery.BuildScan("", onCitus: false, filter, new ChatCompletionUsageGrouping { ByModel = true })), totals);
    }

    private static (DateTimeOffset? From, DateTimeOffset? To) Range(string name)
    {
        var day = new DateTimeOffset(QueryData.Start.UtcDateTime.Date, TimeSpan.Zero);
        return name switch
        {
            "unbounded" => (null, null),
            "whole days" => (day.AddDays(1), day.AddDays(3).AddSeconds(-1)),
            "partial days" => (QueryData.Instant(3), QueryData.Instant(30)),
            "within one day" => (day.AddDays(1).AddHours(2), day.AddDays(1).AddHours(20)),
            "one second" => (QueryData.Instant(7), QueryData.Instant(7)),
            "from only" => (QueryData.Instant(9).AddSeconds(1), null),
            "to only" => (null, QueryData.Instant(20)),
            "from after to" => (QueryData.Instant(20), QueryData.Instant(10)),
            "last second of a day" => (day.AddDays(1).AddSeconds(-1), day.AddDays(2).AddSeconds(-1)),
            "beyond the data" => (day.AddYears(5), day.AddYears(6)),
            "edges of time" => (DateTimeOffset.MinValue, DateTimeOffset.MaxValue),
            "sub-second bounds" => (QueryData.Instant(2).AddTicks(-1), QueryData.Instant(25).AddTicks(9_999_999)),
            "partial hours" => (day.AddDays(1).AddHours(2).AddMinutes(29).AddSeconds(59), day.AddDays(4).AddHours(17).AddMinutes(30)),
            "within one hour" => (day.AddDays(2).AddHours(3).AddMinutes(10), day.AddDays(2).AddHours(3).AddMinutes(45)),
            "across midnight" => (day.AddDays(2).AddHours(-1).AddMinutes(-31), day.AddDays(2).AddHours(1).AddMinutes(31)),
            "whole hours" => (day.AddDays(1).AddHours(4), day.AddDays(1).AddHours(9).AddSeconds(-1)),
            "last day of time" => (DateTimeOffset.MaxValue.AddHours(-20), DateTimeOffset.MaxValue),
            "last hour of time" => (DateTimeOffset.MaxValue.AddMinutes(-30), null),
            _ => throw new ArgumentOutOfRangeException(nameof(name), name, null),
        };
    }

    private async Task<List<ChatCompletionUsageTotals>> RunAsync(string tenant, UsageQuery query)
    {
        await using var db = new ChatCompletionDbContext(StorageModel.Configure(new DbContextOptionsBuilder<ChatCompletionDbContext>(), database.DataSource).Options) { Claim = new TenantClaim(tenant, "") };
        return await db.Database.SqlQueryRaw<ChatCompletionUsageTotals>(query.Sql, query.Parameters).ToListAsync(Token);
    }

    private static ChatCompletion Copy(ChatCompletion completion) => ChatCompletionJson.Parse(ChatCompletionJson.Serialize(completion));
}

using Npgsql;

namespace Storage.Citus.Tests;

/// <summary>
/// The library's operations on a Citus coordinator with two workers: a representative part of the single-node suites
/// (writes by every path, replays, reads, pages across shards, updates, deletes, retention, usage, tenants, cost),
/// each asserting what the single-node test of the same behaviour asserts. Data is scoped by a unique tenant.
/// </summary>
public sealed class CitusStoreTests(CitusSchema citus)
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private static string UniqueTenant() => $"t-{Guid.NewGuid():N}";

    // Completions of one tenant, spread over hours and days so that usage reads whole days, whole hours and rows.
    private static List<ChatCompletion> Completions(int count, string model = "gpt-4o-mini", long start = 1_764_000_000) =>
        Enumerable.Range(0, count).Select(i =>
        {
            var completion = TestCompletions.Completion(content: $"answer {i}", model: model);
            completion.Created = DateTimeOffset.FromUnixTimeSeconds(start + (i * 2_777L));
            completion.Usage = new ChatUsage { PromptTokens = 10 + i, CompletionTokens = 3 + (i % 7), TotalTokens = 13 + i + (i % 7) };
            return completion;
        }).ToList();

    [Fact]
    public async Task The_tables_are_sharded_by_completion_key_co_located_on_both_workers()
    {
        var colocation = await citus.ScalarAsync<long>(
            "SELECT count(DISTINCT colocationid) FROM pg_dist_partition WHERE logicalrelid IN ('chat_completions'::regclass, 'chat_completion_choices'::regclass, 'chat_completion_usage_deltas'::regclass)");
        var tables = await citus.ScalarAsync<long>(
            "SELECT count(*) FROM pg_dist_partition WHERE logicalrelid IN ('chat_completions'::regclass, 'chat_completion_choices'::regclass, 'chat_completion_usage_deltas'::regclass) "
            + "AND partmethod = 'h' AND column_to_column_name(logicalrelid, partkey) = 'completion_key'");
        var nodes = await citus.ScalarAsync<long>(
            "SELECT count(DISTINCT p.nodeport) FROM pg_dist_shard s JOIN pg_dist_placement pl USING (shardid) JOIN pg_dist_node p ON p.groupid = pl.groupid "
            + "WHERE s.logicalrelid = 'chat_completions'::regclass");
        Assert.Equal(1, colocation);
        Assert.Equal(3, tables);
        Assert.Equal(2, nodes);
        Assert.False(await StorageMigrator_DistributeAgain(), "a second distribute only refreshes the objects");
    }

    private Task<bool> StorageMigrator_DistributeAgain() => Migrations.StorageMigrator.DistributeOnCitusAsync(citus.DataSource, 4, Token);

    [Fact]
    public async Task A_single_save_is_read_back_and_its_replay_is_already_stored()
    {
        var tenant = UniqueTenant();
        await using var root = citus.CreateStore();
        var store = root.ForTenant(tenant);
        var completion = TestCompletions.Completion(content: "single");

        Assert.Equal(SaveOutcome.Stored, await store.SaveAsync(completion, Token));
        Assert.Equal(SaveOutcome.AlreadyStored, await store.SaveAsync(ChatCompletionJson.Parse(ChatCompletionJson.Serialize(completion)), Token));

        var read = await store.GetAsync(completion.Id, Token);
        Assert.NotNull(read);
        JsonAssert.SemanticallyEqual(ChatCompletionJson.Serialize(completion), ChatCompletionJson.Serialize(read));
        Assert.Null(await root.ForTenant(UniqueTenant()).GetAsync(completion.Id, Token));

        // A different completion under the same vendor id is stored beside it, most likely in another shard: get reads
        // the one stored last, find both, newest first, each with its own choices.
        var second = TestCompletions.Completion(id: completion.Id, content: "second", choices: 2);
        Assert.Equal(SaveOutcome.Stored, await store.SaveAsync(second, Token));
        Assert.Equal("second", (await store.GetAsync(completion.Id, Token))!.Choices[0].Message.Content!.Text);
        var found = await store.FindAsync(completion.Id, Token);
        Assert.Equal([2, 1], found.Select(c => c.Choices.Count));
        JsonAssert.SemanticallyEqual(ChatCompletionJson.Serialize(second), ChatCompletionJson.Serialize(found[0]));
        JsonAssert.SemanticallyEqual(ChatCompletionJson.Serialize(completion), ChatCompletionJson.Serialize(found[1]));
    }

    [Fact]
    public async Task Bulk_writes_copy_straight_into_the_shards_and_replays_fall_back_to_the_staged_insert()
    {
        var tenant = UniqueTenant();
        await using var root = citus.CreateStore(new ChatCompletionStoreOptions { BulkBatchSize = 10 });
        var store = root.ForTenant(tenant);
        var first = Completions(25);
        var stored = await store.SaveManyAsync(first, Token).ToListAsync(Token);
        Assert.All(stored, r => Assert.Equal(SaveOutcome.Stored, r.Outcome));

        // Every batch of this input holds a replay: the straight COPY fails on a worker and the batch is staged.
        var fresh = Completions(15, start: 1_764_500_000);
        var mixed = first.Take(15).Zip(fresh, (replay, next) => new[] { replay, next }).SelectMany(pair => pair).ToList();
        var results = await store.SaveManyAsync(mixed, Token).ToListAsync(Token);

        Assert.Equal(mixed.Select((_, i) => i % 2 == 0 ? SaveOutcome.AlreadyStored : SaveOutcome.Stored), results.Select(r => r.Outcome!.Value));
        Assert.Equal(40, await store.CountAsync(cancellationToken: Token));
        Assert.Equal(40, await citus.ScalarAsync<long>("SELECT count(*) FROM chat_completion_choices WHERE tenant = $1", tenant));
    }

    [Fact]
    public async Task The_buffered_writer_stores_everything_it_acknowledged()
    {
        var tenant = UniqueTenant();
        await using var root = citus.CreateStore();
        var store = root.ForTenant(tenant);
        var completions = Completions(30);
        await using (var writer = new ChatCompletionWriter(store))
        {
            foreach (var completion in completions)
            {
                Assert.True(await writer.EnqueueAsync(completion, Token));
            }

            Assert.Equal(SaveOutcome.AlreadyStored, await writer.SaveAsync(completions[0], Token));
        }

        Assert.Equal(30, await store.CountAsync(cancellationToken: Token));
    }

    [Fact]
    public async Task List_pages_come_in_created_order_across_shards_without_gaps_or_repeats()
    {
        var tenant = UniqueTenant();
        await using var root = citus.CreateStore();
        var store = root.ForTenant(tenant);
        var completions = Completions(23);
        await store.SaveManyAsync(completions, Token).ToListAsync(Token);
        var expected = completions.OrderByDescending(c => c.Created).Select(c => c.Id).ToList();

        foreach (var order in new[] { ChatCompletionOrder.Descending, ChatCompletionOrder.Ascending })
        {
            var seen = new List<string>();
            string? after = null;
            ChatCompletionPage page;
            do
            {
                page = await store.ListAsync(after: after, limit: 5, order: order, cancellationToken: Token);
                seen.AddRange(page.Items.Select(c => c.Id));
                after = page.LastId;
            }
            while (page.HasMore);

            Assert.Equal(order == ChatCompletionOrder.Descending ? expected : Enumerable.Reverse(expected), seen);
        }

        Assert.Equal(4, await citus.ScalarAsync<long>(
            "SELECT count(DISTINCT get_shard_id_for_distribution_column('chat_completions', completion_key)) FROM chat_completions WHERE tenant = $1", tenant));
    }

    [Fact]
    public async Task A_metadata_update_checks_the_version_against_racing_writers_and_leaves_usage_alone()
    {
        var tenant = UniqueTenant();
        await using var root = citus.CreateStore();
        var store = root.ForTenant(tenant);
        var completion = TestCompletions.Completion();
        await store.SaveAsync(completion, Token);
        var before = await store.GetUsageAsync(cancellationToken: Token);
        var stored = await store.GetWithVersionAsync(completion.Id, Token);

        var updated = await store.UpdateMetadataAsync(completion.Id, new Dictionary<string, string> { ["stage"] = "reviewed" }, stored!.Version, Token);

        Assert.Equal("reviewed", updated.Completion.Metadata!["stage"]);
        await Assert.ThrowsAsync<ChatCompletionConcurrencyException>(
            () => store.UpdateMetadataAsync(completion.Id, new Dictionary<string, string> { ["stage"] = "late" }, stored.Version, Token));
        Assert.Equal("reviewed", (await store.GetAsync(completion.Id, Token))!.Metadata!["stage"]);

        // Writers racing with the same version: exactly one wins, the others are told it changed.
        var version = updated.Version;
        var outcomes = await Task.WhenAll(Enumerable.Range(0, 8).Select(async i =>
        {
            try
            {
                await store.UpdateMetadataAsync(completion.Id, new Dictionary<string, string> { ["stage"] = $"racer {i}" }, version, Token);
                return $"racer {i}";
            }
            catch (ChatCompletionConcurrencyException)
            {
                return null;
            }
        }));
        var winner = Assert.Single(outcomes, outcome => outcome is not null);
        Assert.Equal(winner, (await store.GetAsync(completion.Id, Token))!.Metadata!["stage"]);
        Assert.Equal(before, await store.GetUsageAsync(cancellationToken: Token));
        Assert.Equal(1, await citus.ScalarAsync<long>("SELECT count(*) FROM chat_completion_usage_deltas WHERE tenant = $1", tenant));
    }

    [Fact]
    public async Task Delete_removes_the_completion_and_its_choices_and_keeps_its_usage()
    {
        var tenant = UniqueTenant();
        await using var root = citus.CreateStore();
        var store = root.ForTenant(tenant);
        var completion = TestCompletions.Completion();
        await store.SaveAsync(completion, Token);

        Assert.True(await store.DeleteAsync(completion.Id, Token));

        Assert.False(await store.DeleteAsync(completion.Id, Token));
        Assert.Null(await store.GetAsync(completion.Id, Token));
        Assert.Equal(0, await citus.ScalarAsync<long>("SELECT count(*) FROM chat_completion_choices WHERE tenant = $1", tenant));
        Assert.Equal(1, Assert.Single(await store.GetUsageAsync(cancellationToken: Token)).Completions);
    }

    [Fact]
    public async Task Usage_totals_equal_a_scan_of_the_rows_before_and_after_the_fold_and_after_a_reprice()
    {
        var tenant = UniqueTenant();
        await using var root = citus.CreateStore();
        var store = root.ForTenant(tenant);
        var completions = Completions(60).Concat(Completions(20, model: "gpt-4o")).ToList();
        await store.SaveManyAsync(completions, Token).ToListAsync(Token);
        // A range with partial hours at both ends and whole days inside: rollup days, rollup hours and rows together.
        var filter = new ChatCompletionFilter
        {
            CreatedFrom = DateTimeOffset.FromUnixTimeSeconds(1_764_000_000 + 1_234),
            CreatedTo = DateTimeOffset.FromUnixTimeSeconds(1_764_000_000 + (55 * 2_777) + 17),
        };
        var byModelAndDay = new ChatCompletionUsageGrouping { ByModel = true, ByDay = true };

        async Task AssertExactAsync()
        {
            foreach (var (f, grouping) in new[] { ((ChatCompletionFilter?)null, (ChatCompletionUsageGrouping?)null), (filter, null), (filter, byModelAndDay) })
            {
                var rollup = await store.GetUsageAsync(f, grouping, Token);
                Assert.Equal(await ScanAsync(tenant, f, grouping is not null), rollup.Select(t => (t.Model, t.Day, t.Completions, t.PromptTokens, t.CompletionTokens, t.TotalTokens, t.Cost, t.Unpriced)));
            }
        }

        await AssertExactAsync();
        Assert.True(await citus.ScalarAsync<long>("SELECT storage_compact_usage()") > 0);
        Assert.True(await citus.ScalarAsync<long>("SELECT count(*) FROM chat_completion_usage_deltas WHERE tenant = $1", tenant) < completions.Count);
        await AssertExactAsync();

        // Doubled prices from before these completions were created: every cost changes.
        await store.ImportPricesAsync(await PriceTable.LoadAsync(WritePrices(), Token), new DateTimeOffset(2025, 11, 1, 0, 0, 0, TimeSpan.Zero), Token);
        Assert.True(await store.RepriceAsync(cancellationToken: Token) > 0);
        await AssertExactAsync();
    }

    // What the usage must be: sums straight over the rows (the single-node suite's reference is the same scan).
    private async Task<List<(string?, DateOnly?, long, decimal, decimal, decimal, decimal, long)>> ScanAsync(string tenant, ChatCompletionFilter? filter, bool grouped)
    {
        var sql = $"""
            SELECT {(grouped ? "model, (created AT TIME ZONE 'UTC')::date" : "NULL::text, NULL::date")}, count(*), coalesce(sum(usage_prompt_tokens), 0)::numeric,
                coalesce(sum(usage_completion_tokens), 0)::numeric, coalesce(sum(usage_total_tokens), 0)::numeric, coalesce(sum(cost), 0), count(*) FILTER (WHERE cost IS NULL)
            FROM chat_completions WHERE tenant = $1 AND created >= $2 AND created <= $3
            {(grouped ? "GROUP BY 1, 2 ORDER BY 1, 2" : "")}
            """;
        await using var command = citus.DataSource.CreateCommand(sql);
        command.Parameters.Add(new NpgsqlParameter { Value = tenant });
        command.Parameters.Add(new NpgsqlParameter { Value = filter?.CreatedFrom ?? DateTimeOffset.MinValue.AddYears(1) });
        command.Parameters.Add(new NpgsqlParameter { Value = filter?.CreatedTo ?? DateTimeOffset.MaxValue.AddYears(-1) });
        var rows = new List<(string?, DateOnly?, long, decimal, decimal, decimal, decimal, long)>();
        await using var reader = await command.ExecuteReaderAsync(Token);
        while (await reader.ReadAsync(Token))
        {
            rows.Add((reader.IsDBNull(0) ? null : reader.GetString(0), reader.IsDBNull(1) ? null : reader.GetFieldValue<DateOnly>(1), reader.GetInt64(2),
                reader.GetDecimal(3), reader.GetDecimal(4), reader.GetDecimal(5), reader.GetDecimal(6), reader.GetInt64(7)));
        }

        return rows;
    }

    private static string WritePrices()
    {
        var path = Path.Combine(Path.GetTempPath(), $"citus-prices-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, """{"gpt-4o-mini": {"input_cost_per_token": 0.0000003, "output_cost_per_token": 0.0000012}, "gpt-4o": {"input_cost_per_token": 0.000005, "output_cost_per_token": 0.00002}}""");
        return path;
    }

    [Fact]
    public async Task Retention_drops_a_whole_past_month_of_the_tenant_and_keeps_its_usage()
    {
        var tenant = UniqueTenant();
        await using var root = citus.CreateStore();
        var store = root.ForTenant(tenant);
        // March 2019: a month no other test writes into, in the default partition until its partition is made.
        var old = Completions(12, start: new DateTimeOffset(2019, 3, 2, 0, 0, 0, TimeSpan.Zero).ToUnixTimeSeconds());
        await store.SaveManyAsync(old, Token).ToListAsync(Token);
        Assert.True(await store.EnsurePartitionsAsync(cancellationToken: Token) >= 1);
        Assert.Contains(await store.ListPartitionsAsync(Token), p => p.Name == "chat_completions_p20190301");
        Assert.Equal(12, await citus.ScalarAsync<long>("SELECT count(*) FROM chat_completions_p20190301"));
        var usage = await store.GetUsageAsync(cancellationToken: Token);

        Assert.Equal(12, await store.DeleteCreatedBeforeAsync(new DateTimeOffset(2019, 4, 1, 0, 0, 0, TimeSpan.Zero), cancellationToken: Token));

        Assert.DoesNotContain(await store.ListPartitionsAsync(Token), p => p.Name is "chat_completions_p20190301" or "chat_completion_choices_p20190301");
        Assert.Equal(0, await store.CountAsync(cancellationToken: Token));
        Assert.Equal(usage, await store.GetUsageAsync(cancellationToken: Token));
        Assert.Equal(12, Assert.Single(usage).Completions);
    }

    [Fact]
    public async Task Tenants_see_only_their_own()
    {
        await using var root = citus.CreateStore();
        var (a, b) = (root.ForTenant(UniqueTenant()), root.ForTenant(UniqueTenant()));
        var shared = TestCompletions.Completion(id: $"chatcmpl-shared-{Guid.NewGuid():N}");
        await a.SaveAsync(shared, Token);
        Assert.Equal(SaveOutcome.Stored, await b.SaveAsync(shared, Token));
        await a.SaveManyAsync(Completions(3), Token).ToListAsync(Token);

        Assert.Equal(4, await a.CountAsync(cancellationToken: Token));
        Assert.Equal(1, await b.CountAsync(cancellationToken: Token));
        Assert.Equal(1, Assert.Single(await b.GetUsageAsync(cancellationToken: Token)).Completions);
        Assert.True(await b.DeleteAsync(shared.Id, Token));
        Assert.NotNull(await a.GetAsync(shared.Id, Token));
    }

    [Fact]
    public async Task Costs_are_computed_at_write_and_summed_in_usage()
    {
        var tenant = UniqueTenant();
        await using var root = citus.CreateStore();
        var store = root.ForTenant(tenant);
        var completion = TestCompletions.Completion(model: "gpt-4o-mini");
        await store.SaveAsync(completion, Token);

        var stored = await store.GetWithVersionAsync(completion.Id, Token);
        var cost = Assert.IsType<ChatCompletionCost>(stored!.Cost);
        Assert.True(cost.Usd > 0);
        Assert.Equal(cost.Usd, Assert.Single(await store.GetUsageAsync(cancellationToken: Token)).Cost);
    }
}

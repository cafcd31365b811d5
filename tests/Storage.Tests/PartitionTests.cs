using Npgsql;

namespace Storage.Tests;

/// <summary>
/// The tables on real partitions: a completion of any year is stored through every write path, partitions made while
/// writers write into their month lose and double-count nothing, retention drops whole partitions while writers write
/// into the current month, and the usage totals stay what was stored. Each test works in periods of its own.
/// </summary>
public sealed class PartitionTests(MigratedDatabase database) : IClassFixture<MigratedDatabase>
{
    private static DateTimeOffset Utc(int year, int month, int day, int hour = 0, int minute = 0, int second = 0) =>
        new(year, month, day, hour, minute, second, TimeSpan.Zero);

    private static ChatCompletion At(DateTimeOffset created, string model = "gpt-4o-mini")
    {
        var completion = TestCompletions.Completion(model: model);
        completion.Created = created;
        return completion;
    }

    [Fact(Timeout = 120_000)]
    public async Task A_completion_created_in_any_year_is_stored_through_every_write_path_and_moved_without_recounting()
    {
        await using var store = database.CreateStore();
        var now = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds());
        DateTimeOffset[] times = [Utc(1, 1, 1, 0, 0, 10), Utc(1970, 1, 1), now, Utc(2099, 6, 15, 12), Utc(9999, 12, 31, 23, 59, 59)];
        var stored = new List<ChatCompletion>();
        await using (var writer = new ChatCompletionWriter(store))
        {
            foreach (var time in times)
            {
                var single = At(time);
                Assert.Equal(SaveOutcome.Stored, await store.SaveAsync(single, TestContext.Current.CancellationToken));

                // A batch with a replay in it: the straight COPY fails on the replay and the batch goes the staged way.
                var straight = new[] { At(time.AddSeconds(-1)), At(time.AddSeconds(-2)) };
                await foreach (var result in store.SaveManyAsync(straight, TestContext.Current.CancellationToken))
                {
                    Assert.Equal(SaveOutcome.Stored, result.Outcome);
                }

                var staged = new[] { At(time.AddSeconds(-3)), single };
                var outcomes = new List<SaveOutcome?>();
                await foreach (var result in store.SaveManyAsync(staged, TestContext.Current.CancellationToken))
                {
                    outcomes.Add(result.Outcome);
                }

                Assert.Equal([SaveOutcome.Stored, SaveOutcome.AlreadyStored], outcomes);

                var buffered = At(time.AddSeconds(-4));
                Assert.Equal(SaveOutcome.Stored, await writer.SaveAsync(buffered, TestContext.Current.CancellationToken));
                stored.AddRange([single, .. straight, staged[0], buffered]);
            }
        }

        var usage = await store.GetUsageAsync(null, new ChatCompletionUsageGrouping { ByDay = true }, TestContext.Current.CancellationToken);
        await AssertAllReadBackAsync(store, stored);

        // Partitions for the early years' rows, which the default partition held: their rows move, nothing is recounted.
        await store.EnsurePartitionsAsync(cancellationToken: TestContext.Current.CancellationToken);
        await store.EnsurePartitionsAsync(cancellationToken: TestContext.Current.CancellationToken);

        await AssertAllReadBackAsync(store, stored);
        Assert.Equal(usage, await store.GetUsageAsync(null, new ChatCompletionUsageGrouping { ByDay = true }, TestContext.Current.CancellationToken));
        Assert.Equal("chat_completions_p00010101", await PartitionOfAsync("chat_completions", stored[0].Id));
        Assert.Equal("chat_completion_choices_p00010101", await PartitionOfAsync("chat_completion_choices", stored[0].Id));
        Assert.Equal("chat_completions_p19700101", await PartitionOfAsync("chat_completions", stored[5].Id));
        Assert.Equal($"chat_completions_p{now:yyyyMM}01", await PartitionOfAsync("chat_completions", stored[10].Id));
        Assert.Equal("chat_completions_default", await PartitionOfAsync("chat_completions", stored[15].Id));
        Assert.Equal("chat_completion_choices_default", await PartitionOfAsync("chat_completion_choices", stored[20].Id));
        Assert.Equal(0, await database.ScalarAsync(
            "SELECT count(*) FROM chat_completions c JOIN chat_completion_choices h USING (completion_key, created) WHERE c.tableoid::regclass::text <> replace(h.tableoid::regclass::text, 'chat_completion_choices', 'chat_completions')"));
    }

    [Fact(Timeout = 120_000)]
    public async Task Concurrent_writers_into_a_month_without_a_partition_lose_nothing_while_its_partition_is_made()
    {
        await using var store = database.CreateStore();
        var month = Utc(2024, 5, 1);
        Assert.DoesNotContain(await store.ListPartitionsAsync(TestContext.Current.CancellationToken), p => p.From == month);
        const int Writers = 4, PerWriter = 40;
        var done = 0;
        var tasks = Enumerable.Range(0, Writers).Select(w => Task.Run(async () =>
        {
            try
            {
                for (var i = 0; i < PerWriter; i += 10)
                {
                    var batch = Enumerable.Range(i, 10).Select(n => At(month.AddSeconds((w * 1000) + n))).ToList();
                    if (w % 2 == 0)
                    {
                        foreach (var completion in batch)
                        {
                            Assert.Equal(SaveOutcome.Stored, await store.SaveAsync(completion, TestContext.Current.CancellationToken));
                        }
                    }
                    else
                    {
                        await foreach (var result in store.SaveManyAsync(batch, TestContext.Current.CancellationToken))
                        {
                            Assert.Equal(SaveOutcome.Stored, result.Outcome);
                        }
                    }
                }
            }
            finally
            {
                Interlocked.Increment(ref done);
            }
        }, TestContext.Current.CancellationToken)).ToList();
        var made = 0;
        var maintenance = Task.Run(async () =>
        {
            do
            {
                made += await store.EnsurePartitionsAsync(0, TestContext.Current.CancellationToken);
            }
            while (Volatile.Read(ref done) < Writers);
        }, TestContext.Current.CancellationToken);
        await Task.WhenAll([.. tasks, maintenance]);
        made += await store.EnsurePartitionsAsync(0, TestContext.Current.CancellationToken);

        Assert.True(made >= 1);
        var filter = new ChatCompletionFilter { CreatedFrom = month, CreatedTo = month.AddMonths(1).AddSeconds(-1) };
        Assert.Equal(Writers * PerWriter, await store.CountAsync(filter, TestContext.Current.CancellationToken));
        Assert.Equal(Writers * PerWriter, await database.ScalarAsync(
            "SELECT count(*) FROM chat_completions_p20240501"));
        Assert.Equal(0, await database.ScalarAsync(
            "SELECT count(*) FROM chat_completions_default WHERE created >= '2024-05-01' AND created < '2024-06-01'"));
        var usage = await store.GetUsageAsync(filter, cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal(Writers * PerWriter, usage[0].Completions);
        Assert.Equal(Writers * PerWriter * 15m, usage[0].TotalTokens);
    }

    [Fact(Timeout = 120_000)]
    public async Task Retention_drops_whole_partitions_while_writers_write_into_the_current_month_and_usage_stays()
    {
        // A tenant of its own: the class's other tests store completions before the cutoff too, in other tenants and
        // months, and the counts below must not depend on which of them ran first.
        await using var root = database.CreateStore();
        var store = root.ForTenant("retention-under-writers");
        DateTimeOffset[] days = [Utc(2023, 1, 10), Utc(2023, 2, 10), Utc(2023, 3, 5), Utc(2023, 3, 20)];
        var seeded = days.SelectMany(day => Enumerable.Range(0, 30).Select(i => At(day.AddMinutes(i), i % 2 == 0 ? "gpt-4o" : "gpt-4o-mini"))).ToList();
        await foreach (var result in store.SaveManyAsync(seeded, TestContext.Current.CancellationToken))
        {
            Assert.Equal(SaveOutcome.Stored, result.Outcome);
        }

        await store.EnsurePartitionsAsync(cancellationToken: TestContext.Current.CancellationToken);
        var year = new ChatCompletionFilter { CreatedFrom = Utc(2023, 1, 1), CreatedTo = Utc(2023, 12, 31, 23, 59, 59) };
        var grouping = new ChatCompletionUsageGrouping { ByDay = true, ByModel = true };
        var usageBefore = await store.GetUsageAsync(year, grouping, TestContext.Current.CancellationToken);
        Assert.Equal(120, usageBefore.Sum(row => row.Completions));
        var bytesBefore = (await store.ListPartitionsAsync(TestContext.Current.CancellationToken)).Where(p => p.From?.Year == 2023).Sum(p => p.Bytes);

        // Writers into the current month for as long as the retention runs, and a little before and after.
        using var stop = new CancellationTokenSource();
        var written = new List<ChatCompletion>[2];
        var writers = Enumerable.Range(0, 2).Select(w => Task.Run(async () =>
        {
            written[w] = [];
            while (!stop.IsCancellationRequested || written[w].Count < 20)
            {
                var completion = At(DateTimeOffset.UtcNow);
                Assert.Equal(SaveOutcome.Stored, await store.SaveAsync(completion, TestContext.Current.CancellationToken));
                written[w].Add(completion);
            }
        }, TestContext.Current.CancellationToken)).ToList();

        var deleted = await store.DeleteCreatedBeforeAsync(Utc(2023, 3, 15), cancellationToken: TestContext.Current.CancellationToken);
        await stop.CancelAsync();
        await Task.WhenAll(writers);

        Assert.Equal(90, deleted);
        var partitions = await store.ListPartitionsAsync(TestContext.Current.CancellationToken);
        Assert.DoesNotContain(partitions, p => p.Name is "chat_completions_p20230101" or "chat_completion_choices_p20230101" or "chat_completions_p20230201");
        Assert.Contains(partitions, p => p.Name == "chat_completions_p20230301");
        Assert.Equal(0, await database.ScalarAsync("SELECT count(*) FROM pg_class WHERE relname LIKE 'chat_complet%p202301%' OR relname LIKE 'chat_complet%p202302%'"));
        Assert.True(partitions.Where(p => p.From?.Year == 2023).Sum(p => p.Bytes) < bytesBefore);
        Assert.Equal(30, await store.CountAsync(year, TestContext.Current.CancellationToken));
        foreach (var completion in written.SelectMany(list => list))
        {
            Assert.NotNull(await store.GetAsync(completion.Id, TestContext.Current.CancellationToken));
        }

        // The usage of the dropped days, the cut month's deleted rows and the retained days is what was stored; a
        // delete by id leaves it too.
        Assert.Equal(usageBefore, await store.GetUsageAsync(year, grouping, TestContext.Current.CancellationToken));
        Assert.True(await store.DeleteAsync(seeded[^1].Id, TestContext.Current.CancellationToken));
        Assert.Equal(usageBefore, await store.GetUsageAsync(year, grouping, TestContext.Current.CancellationToken));
        // A metadata-filtered usage sums the rows: only what is retained.
        var retained = await store.GetUsageAsync(year with { Metadata = new Dictionary<string, string> { ["tenant"] = "acme" } }, cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal(29, retained[0].Completions);
    }

    [Fact(Timeout = 120_000)]
    public async Task A_tenant_drops_only_partitions_that_hold_its_completions_alone()
    {
        await using var store = database.CreateStore();
        var acme = store.ForTenant("partition-acme");
        var globex = store.ForTenant("partition-globex");
        var day = Utc(2022, 6, 10);
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(SaveOutcome.Stored, await acme.SaveAsync(At(day.AddMinutes(i)), TestContext.Current.CancellationToken));
            Assert.Equal(SaveOutcome.Stored, await globex.SaveAsync(At(day.AddMinutes(i)), TestContext.Current.CancellationToken));
        }

        await store.EnsurePartitionsAsync(cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal(5, await acme.DeleteCreatedBeforeAsync(Utc(2022, 7, 1), cancellationToken: TestContext.Current.CancellationToken));
        Assert.Contains(await store.ListPartitionsAsync(TestContext.Current.CancellationToken), p => p.Name == "chat_completions_p20220601");
        Assert.Equal(5, await globex.CountAsync(cancellationToken: TestContext.Current.CancellationToken));

        Assert.Equal(5, await globex.DeleteCreatedBeforeAsync(Utc(2022, 7, 1), cancellationToken: TestContext.Current.CancellationToken));
        Assert.DoesNotContain(await store.ListPartitionsAsync(TestContext.Current.CancellationToken), p => p.Name == "chat_completions_p20220601");
        Assert.Equal(5, (await acme.GetUsageAsync(new ChatCompletionFilter { CreatedFrom = Utc(2022, 6, 1), CreatedTo = Utc(2022, 6, 30) }, cancellationToken: TestContext.Current.CancellationToken))[0].Completions);
    }

    [Fact(Timeout = 120_000)]
    public async Task The_rollup_stays_exact_under_replays_rollbacks_and_repeated_maintenance()
    {
        await using var store = database.CreateStore();
        var day = Utc(2021, 4, 2);
        var batch = Enumerable.Range(0, 10).Select(i => At(day.AddMinutes(i))).ToList();
        await foreach (var result in store.SaveManyAsync(batch, TestContext.Current.CancellationToken))
        {
            Assert.Equal(SaveOutcome.Stored, result.Outcome);
        }

        var filter = new ChatCompletionFilter { CreatedFrom = Utc(2021, 4, 1), CreatedTo = Utc(2021, 4, 30, 23, 59, 59) };
        var before = await store.GetUsageAsync(filter, cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal(10, before[0].Completions);

        await store.EnsurePartitionsAsync(cancellationToken: TestContext.Current.CancellationToken);
        await foreach (var result in store.SaveManyAsync(batch, TestContext.Current.CancellationToken))
        {
            Assert.Equal(SaveOutcome.AlreadyStored, result.Outcome);
        }

        Assert.Equal(SaveOutcome.AlreadyStored, await store.SaveAsync(batch[0], TestContext.Current.CancellationToken));
        await database.ExecuteAsync(
            "BEGIN; INSERT INTO chat_completions (completion_key, created, id, object, model, content_hash, cost_clamped, usage_total_tokens) " +
            "VALUES (42, '2021-04-03', 'rolled-back', 'chat.completion', 'gpt-4o-mini', '\\x00', false, 1000); ROLLBACK;");
        await store.EnsurePartitionsAsync(cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal(before, await store.GetUsageAsync(filter, cancellationToken: TestContext.Current.CancellationToken));
        Assert.Equal(10, await database.ScalarAsync("SELECT count(*) FROM chat_completions_p20210401"));
    }

    private static async Task AssertAllReadBackAsync(ChatCompletionStore store, IEnumerable<ChatCompletion> completions)
    {
        foreach (var completion in completions)
        {
            var read = await store.GetAsync(completion.Id, TestContext.Current.CancellationToken);
            Assert.NotNull(read);
            Assert.Equal(completion.Created, read.Created);
            Assert.Single(read.Choices);
        }
    }

    private async Task<string> PartitionOfAsync(string table, string id)
    {
        var sql = table == "chat_completions"
            ? "SELECT tableoid::regclass::text FROM chat_completions WHERE id = $1"
            : "SELECT h.tableoid::regclass::text FROM chat_completion_choices h JOIN chat_completions c USING (completion_key, created) WHERE c.id = $1";
        await using var command = database.DataSource.CreateCommand(sql);
        command.Parameters.Add(new NpgsqlParameter { Value = id });
        return (string)(await command.ExecuteScalarAsync(TestContext.Current.CancellationToken))!;
    }
}

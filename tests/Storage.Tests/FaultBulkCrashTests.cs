using System.Diagnostics;
using Npgsql;
using Storage.Migrations;

namespace Storage.Tests;

/// <summary>
/// Issue 8: the server dies while a large <c>SaveManyAsync</c> batch is in its COPY (straight into the tables, or into the
/// staging tables) or its INSERT. What was yielded
/// as stored is there exactly once, no completion is stored without all its choices, and the caller sees a
/// transient <see cref="ChatCompletionStoreException"/>.
/// </summary>
public sealed class FaultBulkCrashTests
{
    private const int ChoicesPerCompletion = 3;
    private const int BatchSize = 1500;

    private static readonly string[] StagedStatements = ["COPY storage_stage%", "WITH inserted AS%"];
    private static readonly string[] DirectStatements = ["COPY chat_completion%"];

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_server_killed_mid_batch_leaves_no_partial_completion_and_every_yielded_one_exactly_once(bool staged)
    {
        var output = TestContext.Current.TestOutputHelper;
        using var box = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        box.CancelAfter(TimeSpan.FromSeconds(90));
        await using var server = await PostgresServer.StartLocalClusterAsync(durable: true, box.Token);
        var connectionString = await server.CreateDatabaseAsync("fault_bulk_crash", box.Token);
        await using (var migrate = NpgsqlDataSource.Create(connectionString))
        {
            await StorageMigrator.MigrateAsync(migrate, box.Token);
        }

        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        await using var store = new ChatCompletionStore(dataSource, new ChatCompletionStoreOptions { BulkBatchSize = BatchSize });
        // A replay in every batch sends every batch down the staged path (COPY into staging tables, then INSERT … SELECT);
        // fresh batches COPY straight into the tables.
        var replayed = TestCompletions.Completion(choices: ChoicesPerCompletion);
        await store.SaveAsync(replayed, box.Token);
        var replay = ChatCompletionJson.Serialize(replayed);
        var yielded = new List<BulkSaveResult>();
        var sent = 0;
        IEnumerable<ChatCompletion> Input()
        {
            // Far more than can be written before the kill; generated lazily, as a real ingest would read it.
            for (var i = 0; i < BatchSize * 40; i++)
            {
                sent++;
                yield return staged && i % BatchSize == 0
                    ? ChatCompletionJson.Parse(replay)
                    : TestCompletions.Completion(content: new string((char)('a' + (i % 26)), 2000), choices: ChoicesPerCompletion);
            }
        }

        var saving = Task.Run(
            async () =>
            {
                await foreach (var result in store.SaveManyAsync(Input(), box.Token))
                {
                    lock (yielded)
                    {
                        yielded.Add(result);
                    }
                }
            },
            box.Token);

        // Kill once a batch has been yielded and the next one is inside its COPY or its INSERT … SELECT.
        await using (var watcher = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false }.ConnectionString))
        await using (var connection = await watcher.OpenConnectionAsync(box.Token))
        {
            string? statement = null;
            var watching = Stopwatch.StartNew();
            while (statement is null && !saving.IsCompleted)
            {
                int count;
                lock (yielded)
                {
                    count = yielded.Count;
                }

                if (count > 0)
                {
                    await using var activity = new NpgsqlCommand(
                        "SELECT left(query, 40) FROM pg_stat_activity WHERE state = 'active' AND pid <> pg_backend_pid() "
                        + "AND query LIKE ANY ($1) LIMIT 1",
                        connection);
                    activity.Parameters.Add(new NpgsqlParameter { Value = staged ? StagedStatements : DirectStatements });
                    statement = (string?)await activity.ExecuteScalarAsync(box.Token);
                }

                if (statement is null)
                {
                    await Task.Delay(2, box.Token);
                }
            }

            Assert.False(saving.IsCompleted, "the input was stored before the kill; make it larger");
            output?.WriteLine($"bulk crash: killing during '{statement}' after {watching.ElapsedMilliseconds} ms, {yielded.Count} yielded, {sent} read");
        }

        await server.KillAsync(box.Token);
        var error = await Assert.ThrowsAsync<ChatCompletionStoreException>(() => saving);
        output?.WriteLine($"bulk crash: surfaced as {error.GetType().Name} (transient: {error.IsTransient}): {error.Message} <- {error.InnerException?.GetType().Name}");
        await server.RestartAsync(box.Token);

        var (stored, partial, orphans) = await StoredCensus.ReadAsync(connectionString, ChoicesPerCompletion, box.Token);
        var yieldedStored = yielded.Where(r => r.Outcome == SaveOutcome.Stored).Select(r => r.Completion.Id).ToList();
        Assert.Equal(1, stored[replayed.Id]);
        stored.Remove(replayed.Id);
        output?.WriteLine($"bulk crash: {yieldedStored.Count} yielded as stored, {stored.Count} in the table, partial {partial}, orphan choices {orphans}");

        Assert.True(error.IsTransient, error.ToString());
        Assert.NotEmpty(yieldedStored);
        Assert.All(yieldedStored, id => Assert.Equal(1, stored.GetValueOrDefault(id)));
        Assert.DoesNotContain(stored, pair => pair.Value != 1);
        Assert.Equal(0, partial);
        Assert.Equal(0, orphans);
        // Whole batches only: what is stored is the yielded batches plus at most the one whose acknowledgement was lost.
        var freshPerBatch = staged ? BatchSize - 1 : BatchSize;
        Assert.Equal(0, stored.Count % freshPerBatch);
        Assert.InRange(stored.Count, yieldedStored.Count, yieldedStored.Count + (2 * freshPerBatch));
        Assert.All(yielded.Where(r => r.Completion.Id == replayed.Id), r => Assert.Equal(SaveOutcome.AlreadyStored, r.Outcome));
    }
}

using System.Collections.Concurrent;
using System.Diagnostics;
using Npgsql;
using Storage.Migrations;

namespace Storage.Tests;

/// <summary>
/// Issue 5: writers on the bulk path, the buffered writer and single saves keep going while the postmaster of a
/// durable server of their own is SIGKILLed and restarted. Every acknowledged completion must survive exactly
/// once, and no stored completion may lack its choices.
/// </summary>
public sealed class FaultServerKillTests
{
    private const int Kills = 2;
    private const int ChoicesPerCompletion = 2;

    [Fact]
    public async Task Acknowledged_writes_survive_SIGKILL_of_the_postmaster_exactly_once_and_whole()
    {
        var output = TestContext.Current.TestOutputHelper;
        using var box = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        box.CancelAfter(TimeSpan.FromSeconds(60));
        var total = Stopwatch.StartNew();
        await using var server = await PostgresServer.StartLocalClusterAsync(durable: true, box.Token);
        var connectionString = await server.CreateDatabaseAsync("fault_kill", box.Token);
        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        await StorageMigrator.MigrateAsync(dataSource, box.Token);
        output?.WriteLine($"kill: {server.Description} ready in {total.ElapsedMilliseconds} ms");

        await using var store = new ChatCompletionStore(dataSource, new ChatCompletionStoreOptions { BulkBatchSize = 25 });
        var writer = new ChatCompletionWriter(
            store, new ChatCompletionWriterOptions { BatchSize = 20, FlushInterval = TimeSpan.FromMilliseconds(20), MaxFlushAttempts = 3 });
        var acknowledged = new ConcurrentDictionary<string, byte>();
        var unexpected = new ConcurrentQueue<Exception>();
        var retried = 0;
        using var stop = new CancellationTokenSource();

        // Each writer retries its current work until it is acknowledged (or the box closes), then stops if told to.
        var busy = new ConcurrentDictionary<string, long>(StringComparer.Ordinal);
        var slowest = new ConcurrentDictionary<string, long>(StringComparer.Ordinal);
        async Task RetryAsync(string name, Func<Task> attempt)
        {
            var began = Stopwatch.GetTimestamp();
            while (true)
            {
                box.Token.ThrowIfCancellationRequested();
                busy[name] = total.ElapsedMilliseconds;
                try
                {
                    await attempt();
                    busy.TryRemove(name, out _);
                    var took = (long)Stopwatch.GetElapsedTime(began).TotalMilliseconds;
                    slowest.AddOrUpdate(name.TrimEnd('0', '1', '2', '3'), took, (_, max) => Math.Max(max, took));
                    return;
                }
                catch (ChatCompletionStoreException e) when (e.IsTransient)
                {
                    Interlocked.Increment(ref retried);
                }
                catch (Exception e) when (e is not OperationCanceledException || !box.IsCancellationRequested)
                {
                    // Anything else is a finding (recorded and asserted on), but the writer keeps retrying.
                    unexpected.Enqueue(e);
                    Interlocked.Increment(ref retried);
                }

                await Task.Delay(100, box.Token);
            }
        }

        async Task BulkWriterAsync(string name)
        {
            while (!stop.IsCancellationRequested)
            {
                var batch = Enumerable.Range(0, 50).Select(_ => TestCompletions.Completion(choices: ChoicesPerCompletion)).ToList();
                await RetryAsync(name, async () =>
                {
                    await foreach (var result in store.SaveManyAsync(batch, box.Token))
                    {
                        Assert.False(result.IsRejected, result.Error?.Message);
                        acknowledged.TryAdd(result.Completion.Id, 0);
                    }
                });
            }
        }

        async Task BufferedWriterAsync(string name)
        {
            while (!stop.IsCancellationRequested)
            {
                var completion = TestCompletions.Completion(choices: ChoicesPerCompletion);
                await RetryAsync(name, async () =>
                {
                    await writer.SaveAsync(completion, box.Token);
                    acknowledged.TryAdd(completion.Id, 0);
                });
            }
        }

        async Task SingleWriterAsync(string name)
        {
            while (!stop.IsCancellationRequested)
            {
                var completion = TestCompletions.Completion(choices: ChoicesPerCompletion);
                await RetryAsync(name, async () =>
                {
                    await store.SaveAsync(completion, box.Token);
                    acknowledged.TryAdd(completion.Id, 0);
                });
            }
        }

        Task[] writers =
        [
            .. Enumerable.Range(0, 2).Select(i => Task.Run(() => BulkWriterAsync($"bulk{i}"), box.Token)),
            .. Enumerable.Range(0, 4).Select(i => Task.Run(() => BufferedWriterAsync($"buffered{i}"), box.Token)),
            .. Enumerable.Range(0, 2).Select(i => Task.Run(() => SingleWriterAsync($"single{i}"), box.Token)),
        ];

        var injected = 0;
        try
        {
            for (var kill = 0; kill < Kills; kill++)
            {
                // Kill mid-way: once the writers have been acknowledged a while since the last fault.
                var target = acknowledged.Count + 300;
                var waited = Stopwatch.StartNew();
                while ((acknowledged.Count < target || waited.Elapsed < TimeSpan.FromSeconds(1))
                    && waited.Elapsed < TimeSpan.FromSeconds(4) && !writers.Any(w => w.IsCompleted))
                {
                    await Task.Delay(20, box.Token);
                }

                var before = acknowledged.Count;
                var startedAt = await PostmasterStartTimeAsync(connectionString, box.Token);
                await server.KillAsync(box.Token);
                injected++;
                await Task.Delay(300, box.Token);
                var down = Stopwatch.StartNew();
                await server.RestartAsync(box.Token);
                // A new postmaster, not the old one shrugging the signal off.
                Assert.NotEqual(startedAt, await PostmasterStartTimeAsync(connectionString, box.Token));
                output?.WriteLine($"kill: at {total.ElapsedMilliseconds} ms fault {injected} after {before} acknowledged; restarted in {down.ElapsedMilliseconds} ms");
            }

            // Let the writers recover and carry on after the last restart.
            var resumedAt = acknowledged.Count;
            var resumed = Stopwatch.StartNew();
            while (acknowledged.Count < resumedAt + 200 && resumed.Elapsed < TimeSpan.FromSeconds(8) && !writers.Any(w => w.IsCompleted))
            {
                await Task.Delay(20, box.Token);
            }
        }
        catch (Exception e)
        {
            output?.WriteLine($"kill: main flow failed at {total.ElapsedMilliseconds} ms: {e}");
            throw;
        }
        finally
        {
            await stop.CancelAsync();
            // The writers finish (and retry) what they hold; the box bounds how long that may take.
            var all = Task.WhenAll(writers);
            if (await Task.WhenAny(all, Task.Delay(TimeSpan.FromSeconds(30), box.Token)) != all)
            {
                await using (var activity = NpgsqlDataSource.Create(connectionString).CreateCommand(
                    "SELECT string_agg(format('%s %s %s/%s [%s]', pid, state, wait_event_type, wait_event, left(query, 60)), E'\\n') FROM pg_stat_activity WHERE datname = current_database()"))
                {
                    output?.WriteLine($"kill: activity\n{await activity.ExecuteScalarAsync(box.Token)}");
                }

                output?.WriteLine($"kill: writers still busy after 30 s at {total.ElapsedMilliseconds} ms: "
                    + string.Join(", ", busy.Select(pair => $"{pair.Key} since {pair.Value} ms")));
            }

            await all.WaitAsync(box.Token);
            await writer.DisposeAsync();
        }

        var (stored, partial, _) = await StoredCensus.ReadAsync(connectionString, ChoicesPerCompletion, box.Token);
        var lost = acknowledged.Keys.Count(id => !stored.ContainsKey(id));
        var duplicated = stored.Count(pair => pair.Value > 1);

        output?.WriteLine(
            $"faults: {injected} injected, acknowledged writes {acknowledged.Count}, lost {lost}, partial {partial}, retried {retried}"
            + $" (stored {stored.Count}, duplicated {duplicated}, unexpected errors {unexpected.Count}, {total.ElapsedMilliseconds} ms;"
            + $" slowest acknowledgement {string.Join(", ", slowest.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key} {p.Value} ms"))})");
        foreach (var group in unexpected.GroupBy(e => $"{e.GetType().Name}: {e.Message}").Take(5))
        {
            output?.WriteLine($"kill: unexpected x{group.Count()}: {group.Key} <- {group.First().InnerException?.GetType().Name}");
        }

        Assert.Equal(Kills, injected);
        Assert.False(acknowledged.IsEmpty);
        Assert.True(retried > 0, "no writer noticed the faults");
        Assert.Equal(0, lost);
        Assert.Equal(0, duplicated);
        Assert.Equal(0, partial);
        Assert.Empty(unexpected);
    }

    private static async Task<DateTime> PostmasterStartTimeAsync(string connectionString, CancellationToken cancellationToken)
    {
        // Pooling off: a pooled connection to the killed server would fail this check instead of the writers.
        var builder = new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false };
        await using var connection = new NpgsqlConnection(builder.ConnectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand("SELECT pg_postmaster_start_time()", connection);
        return (DateTime)(await command.ExecuteScalarAsync(cancellationToken))!;
    }
}

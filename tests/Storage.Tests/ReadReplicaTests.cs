using System.Collections.Concurrent;
using System.Diagnostics;
using Npgsql;

namespace Storage.Tests;

/// <summary>
/// Issue 13, read replicas: a store with a read data source against a real streaming standby that the tests start
/// (<see cref="ReplicaClusters"/>). Which server answered is shown by the servers themselves: by what a standby whose
/// replay is paused does not have yet, and by the port of every SQL command in Npgsql's own spans.
/// </summary>
public sealed class ReadReplicaTests(ReplicaClusters clusters) : IClassFixture<ReplicaClusters>
{
    private const string TestSourceName = "Storage.Tests.ReadReplica";
    private static readonly ActivitySource TestSource = new(TestSourceName);

    [Fact]
    public async Task A_plain_read_is_answered_by_the_standby_and_writes_by_the_primary()
    {
        using var box = Box();
        await using var primary = NpgsqlDataSource.Create(clusters.PrimaryConnectionString);
        await using var standby = NpgsqlDataSource.Create(clusters.StandbyConnectionString);
        await using var store = new ChatCompletionStore(primary, standby);
        using var spans = new Spans();
        var completion = TestCompletions.Completion();

        await PauseReplayAsync(standby, box.Token);
        try
        {
            var (saved, saveSql) = await spans.ObserveAsync(() => store.SaveAsync(completion, box.Token));
            var (read, readSql) = await spans.ObserveAsync(() => store.GetAsync(completion.Id, box.Token));
            var (page, _) = await spans.ObserveAsync(() => store.ListAsync(cancellationToken: box.Token));

            // The primary has it; the standby, whose replay is paused, does not yet: so the standby answered.
            Assert.Equal(SaveOutcome.Stored, saved);
            Assert.Equal(1L, await CountAsync(primary, completion.Id, box.Token));
            Assert.Null(read);
            Assert.DoesNotContain(page.Items, c => c.Id == completion.Id);
            Assert.All(saveSql.Ports, port => Assert.Equal(Port(clusters.PrimaryConnectionString), port));
            Assert.Equal(("standby", $"{Port(clusters.StandbyConnectionString)}"), (readSql.Source, readSql.Servers));
        }
        finally
        {
            await ResumeReplayAsync(standby, CancellationToken.None);
        }

        // Once replayed, the standby has it too (a bounded wait).
        while (await store.GetAsync(completion.Id, box.Token) is null)
        {
            await Task.Delay(20, box.Token);
        }
    }

    [Fact]
    public async Task A_read_your_writes_read_on_the_standby_sees_every_write_before_it()
    {
        using var box = Box();
        await using var primary = NpgsqlDataSource.Create(clusters.PrimaryConnectionString);
        // One connection: a read that left its connection open after the replay check would starve the next.
        await using var standby = NpgsqlDataSource.Create(clusters.StandbyConnectionString + ";Maximum Pool Size=1;Timeout=5");
        await using var root = new ChatCompletionStore(
            primary, standby, new ChatCompletionStoreOptions { ReadYourWrites = true, ReadYourWritesTimeout = TimeSpan.FromSeconds(20) });
        var store = root.ForTenant("replica-tenant");
        using var spans = new Spans();
        var standbyPort = Port(clusters.StandbyConnectionString);
        var completion = TestCompletions.Completion();
        var many = Enumerable.Range(0, 30).Select(_ => TestCompletions.Completion(model: "replica-bulk")).ToList();

        await store.SaveAsync(completion, box.Token);
        var (read, readSql) = await spans.ObserveAsync(() => store.GetAsync(completion.Id, box.Token));
        await foreach (var _ in store.SaveManyAsync(many, box.Token))
        {
        }

        var (page, pageSql) = await spans.ObserveAsync(() => store.ListAsync(new ChatCompletionFilter { Model = "replica-bulk" }, limit: 100, cancellationToken: box.Token));
        await store.UpdateMetadataAsync(completion.Id, new Dictionary<string, string> { ["step"] = "updated" }, cancellationToken: box.Token);
        var (updated, updatedSql) = await spans.ObserveAsync(() => store.GetAsync(completion.Id, box.Token));
        await store.DeleteAsync(completion.Id, box.Token);
        var (deleted, deletedSql) = await spans.ObserveAsync(() => store.GetAsync(completion.Id, box.Token));

        Assert.Equal(completion.Id, read?.Id);
        Assert.Equal(30, page.Items.Count);
        Assert.Equal("updated", updated?.Metadata?["step"]);
        Assert.Null(deleted);
        foreach (var sql in new[] { readSql, pageSql, updatedSql, deletedSql })
        {
            Assert.Equal(("standby", $"{standbyPort}"), (sql.Source, sql.Servers));
        }
    }

    [Fact]
    public async Task A_read_your_writes_read_that_the_standby_cannot_serve_in_time_reads_the_primary()
    {
        using var box = Box();
        await using var primary = NpgsqlDataSource.Create(clusters.PrimaryConnectionString);
        await using var standby = NpgsqlDataSource.Create(clusters.StandbyConnectionString);
        var wait = TimeSpan.FromMilliseconds(300);
        await using var store = new ChatCompletionStore(primary, standby, new ChatCompletionStoreOptions { ReadYourWrites = true, ReadYourWritesTimeout = wait });
        using var spans = new Spans();
        var completion = TestCompletions.Completion();

        await PauseReplayAsync(standby, box.Token);
        try
        {
            await store.SaveAsync(completion, box.Token);
            var took = Stopwatch.StartNew();
            var (read, readSql) = await spans.ObserveAsync(() => store.GetAsync(completion.Id, box.Token));
            took.Stop();
            TestContext.Current.TestOutputHelper?.WriteLine($"replica: a read-your-writes read behind a paused standby took {took.ElapsedMilliseconds} ms (wait {wait.TotalMilliseconds} ms)");

            Assert.Equal(completion.Id, read?.Id);
            Assert.Equal(("primary", "lagging"), (readSql.Source, readSql.Fallback));
            // It asked the standby how far it had replayed, then read the primary.
            Assert.Equal($"{Port(clusters.StandbyConnectionString)} {Port(clusters.PrimaryConnectionString)}", readSql.Servers);
            Assert.InRange(took.Elapsed, wait, wait + TimeSpan.FromSeconds(10));
        }
        finally
        {
            await ResumeReplayAsync(standby, CancellationToken.None);
        }
    }

    [Fact]
    public async Task With_the_standby_stopped_reads_fall_back_to_the_primary_whose_pool_is_untouched_and_return_once_it_is_back()
    {
        using var box = Box();
        var (server, standbyConnectionString) = await clusters.StartOtherStandbyAsync(box.Token);
        await using var _ = server;
        // One connection: the primary's pool keeps the same one unless something clears it.
        await using var primary = NpgsqlDataSource.Create(clusters.PrimaryConnectionString + ";Maximum Pool Size=1");
        await using var standby = NpgsqlDataSource.Create(standbyConnectionString + ";Timeout=5");
        await using var store = new ChatCompletionStore(primary, standby, new ChatCompletionStoreOptions { ReadYourWrites = true });
        using var spans = new Spans();
        var completion = TestCompletions.Completion();
        completion.Call = new ChatCompletionCall { StartedAt = DateTimeOffset.UtcNow, Request = System.Text.Json.JsonDocument.Parse("""{"messages":[{"role":"user","content":"hi"}]}""").RootElement };
        await store.SaveAsync(completion, box.Token);
        Assert.Equal(completion.Id, (await store.GetAsync(completion.Id, box.Token))?.Id);
        var backend = await BackendAsync(primary, box.Token);

        await server.StopAsync(box.Token);
        var took = Stopwatch.StartNew();
        var (read, readSql) = await spans.ObserveAsync(() => store.GetAsync(completion.Id, box.Token));
        var (page, pageSql) = await spans.ObserveAsync(() => store.ListAsync(cancellationToken: box.Token));
        var (messages, messagesSql) = await spans.ObserveAsync(() => store.ListMessagesAsync(completion.Id, cancellationToken: box.Token));
        var (usage, usageSql) = await spans.ObserveAsync(() => store.GetUsageAsync(cancellationToken: box.Token));
        var (exported, exportSql) = await spans.ObserveAsync(async () => await store.ExportAsync(cancellationToken: box.Token).CountAsync(box.Token));
        took.Stop();
        TestContext.Current.TestOutputHelper?.WriteLine($"replica: 5 reads with the standby stopped took {took.ElapsedMilliseconds} ms");

        Assert.Equal(completion.Id, read?.Id);
        Assert.Contains(page.Items, c => c.Id == completion.Id);
        Assert.Single(messages.Items);
        Assert.True(usage[0].Completions >= 1);
        Assert.True(exported >= 1);
        Assert.Equal(("primary", "unavailable"), (readSql.Source, readSql.Fallback));
        foreach (var sql in new[] { pageSql, messagesSql, usageSql })
        {
            Assert.Equal(("primary", "unavailable", $"{Port(clusters.PrimaryConnectionString)}"), (sql.Source, sql.Fallback, sql.Servers));
        }

        Assert.All(exportSql.Ports, port => Assert.Equal(Port(clusters.PrimaryConnectionString), port));
        // No retries against the dead standby: it was tried once, then skipped.
        Assert.InRange(took.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(5));
        Assert.Equal(backend, await BackendAsync(primary, box.Token));

        // Back up, the standby serves reads again once the pause after its failure is over.
        await server.RestartAsync(box.Token);
        await Task.Delay(Storage.Internal.ReadReplica.UnavailablePause, box.Token);
        while (true)
        {
            var (again, againSql) = await spans.ObserveAsync(() => store.GetAsync(completion.Id, box.Token));
            Assert.Equal(completion.Id, again?.Id);
            if (againSql.Source == "standby")
            {
                break;
            }

            await Task.Delay(200, box.Token);
        }
    }

    [Theory]
    [InlineData(5UL * 8192 + 24, 5UL * 8192)]                  // an empty page: its short header is not WAL a standby replays
    [InlineData(3UL * 16 * 1024 * 1024 + 40, 3UL * 16 * 1024 * 1024)] // an empty segment: its long header
    [InlineData(5UL * 8192 + 40, 5UL * 8192 + 40)]             // a record that ends 40 bytes into an ordinary page
    [InlineData(5UL * 8192 + 48, 5UL * 8192 + 48)]
    public void The_position_waited_for_is_where_the_written_WAL_ends(ulong insert, ulong expected) =>
        Assert.Equal(expected, Storage.Internal.ReadReplica.EndOfWal(insert, 8192, 16 * 1024 * 1024));

    private static CancellationTokenSource Box()
    {
        var box = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        box.CancelAfter(TimeSpan.FromSeconds(60));
        return box;
    }

    private static int Port(string connectionString) => new NpgsqlConnectionStringBuilder(connectionString).Port;

    private static async Task<long> CountAsync(NpgsqlDataSource dataSource, string id, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("SELECT count(*) FROM chat_completions WHERE id = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = id });
        return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    private static async Task<int> BackendAsync(NpgsqlDataSource dataSource, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("SELECT pg_backend_pid()");
        return (int)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    private static async Task PauseReplayAsync(NpgsqlDataSource standby, CancellationToken cancellationToken)
    {
        await using (var pause = standby.CreateCommand("SELECT pg_wal_replay_pause()"))
        {
            await pause.ExecuteNonQueryAsync(cancellationToken);
        }

        await using var state = standby.CreateCommand("SELECT pg_get_wal_replay_pause_state()");
        while ((string)(await state.ExecuteScalarAsync(cancellationToken))! != "paused")
        {
            await Task.Delay(10, cancellationToken);
        }
    }

    private static async Task ResumeReplayAsync(NpgsqlDataSource standby, CancellationToken cancellationToken)
    {
        await using var resume = standby.CreateCommand("SELECT pg_wal_replay_resume()");
        await resume.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>What one call did: the store's routing tags and the server port of every SQL command it ran, from Npgsql's spans.</summary>
    private sealed record Sql(string? Source, string? Fallback, IReadOnlyList<int> Ports)
    {
        /// <summary>The ports in the order the call first used them, space-separated.</summary>
        public string Servers => string.Join(' ', Ports.Distinct());
    }

    /// <summary>Records the spans of the calls observed, each call in a trace of its own (other test classes trace too).</summary>
    private sealed class Spans : IDisposable
    {
        private readonly ConcurrentQueue<Activity> _stopped = new();
        private readonly ActivityListener _listener;

        public Spans()
        {
            _listener = new ActivityListener
            {
                ShouldListenTo = source => source.Name is StorageTelemetry.ActivitySourceName or "Npgsql" or TestSourceName,
                Sample = (ref _) => ActivitySamplingResult.AllDataAndRecorded,
                ActivityStopped = _stopped.Enqueue,
            };
            ActivitySource.AddActivityListener(_listener);
        }

        public async Task<(T Result, Sql Sql)> ObserveAsync<T>(Func<Task<T>> call)
        {
            var previous = Activity.Current;
            Activity.Current = null;
            T result;
            ActivityTraceId trace;
            using (var root = TestSource.StartActivity("observed")!)
            {
                trace = root.TraceId;
                result = await call();
            }

            Activity.Current = previous;
            var spans = _stopped.Where(span => span.TraceId == trace).ToList();
            var store = spans.FirstOrDefault(span => span.Source.Name == StorageTelemetry.ActivitySourceName);
            var ports = spans
                .Where(span => span.Source.Name == "Npgsql")
                .OrderBy(span => span.StartTimeUtc)
                .Select(span => span.GetTagItem("server.port") ?? span.GetTagItem("net.peer.port"))
                .Where(port => port is not null)
                .Select(port => Convert.ToInt32(port, System.Globalization.CultureInfo.InvariantCulture))
                .ToList();
            return (result, new Sql(store?.GetTagItem("storage.read.source") as string, store?.GetTagItem("storage.read.fallback") as string, ports));
        }

        public void Dispose() => _listener.Dispose();
    }
}

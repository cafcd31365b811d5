using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Storage.Tests;

public sealed class WriterTests(MigratedDatabase database) : IClassFixture<MigratedDatabase>
{
    // Every wait on the writer is bounded: a regression that leaves a caller waiting fails with a TimeoutException.
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task With_its_data_source_disposed_every_save_fails_with_the_stores_exception_and_nobody_waits()
    {
        using var failed = new FailedCount();
        var log = new ListLogger();
        await using var dataSource = NpgsqlDataSource.Create(database.ConnectionString);
        await using var store = new ChatCompletionStore(dataSource);
        var writer = new ChatCompletionWriter(store, new ChatCompletionWriterOptions { BatchSize = 2, FlushInterval = TimeSpan.FromMilliseconds(20) }, log);
        Assert.Equal(SaveOutcome.Stored, await writer.SaveAsync(TestCompletions.Completion(), Token).WaitAsync(Bound, Token));

        await dataSource.DisposeAsync();
        var saves = Enumerable.Range(0, 5).Select(_ => writer.SaveAsync(TestCompletions.Completion(), Token)).ToList();

        foreach (var save in saves)
        {
            await Assert.ThrowsAsync<ObjectDisposedException>(() => save.WaitAsync(Bound, Token));
        }

        await writer.DisposeAsync().AsTask().WaitAsync(Bound, Token);
        await Assert.ThrowsAsync<ObjectDisposedException>(() => writer.SaveAsync(TestCompletions.Completion(), Token).WaitAsync(Bound, Token));
        Assert.Contains(log.Entries, entry => entry.Level == LogLevel.Error && entry.Exception is ObjectDisposedException);
        Assert.True(failed.Value >= 5, $"{failed.Value} counted as failed");
    }

    [Fact]
    public async Task An_exception_thrown_inside_a_flush_fails_exactly_that_flush_and_later_completions_are_stored()
    {
        using var failed = new FailedCount();
        var log = new ListLogger();
        await using var store = database.CreateStore();
        await using var writer = new ChatCompletionWriter(store, new ChatCompletionWriterOptions { BatchSize = 2, FlushInterval = TimeSpan.FromSeconds(30) }, log);
        // An element of a disposed JsonDocument (a caller forgot Clone): reading it throws ObjectDisposedException inside the
        // store's bulk path, which is no error of the store's.
        JsonElement stale;
        using (var document = JsonDocument.Parse("{\"n\":1}"))
        {
            stale = document.RootElement;
        }

        var poisoned = TestCompletions.Completion();
        poisoned.AdditionalProperties = new Dictionary<string, JsonElement> { ["x_stale"] = stale };
        var sameFlush = TestCompletions.Completion();
        var later = new[] { TestCompletions.Completion(), TestCompletions.Completion() };

        var first = writer.SaveAsync(poisoned, Token);
        var second = writer.SaveAsync(sameFlush, Token);
        var error = await Assert.ThrowsAsync<ObjectDisposedException>(() => first.WaitAsync(Bound, Token));
        var sameError = await Assert.ThrowsAsync<ObjectDisposedException>(() => second.WaitAsync(Bound, Token));
        var outcomes = await Task.WhenAll(later.Select(c => writer.SaveAsync(c, Token))).WaitAsync(Bound, Token);

        Assert.Same(error, sameError);
        Assert.Equal([SaveOutcome.Stored, SaveOutcome.Stored], outcomes);
        Assert.Equal(2, await database.ScalarAsync("SELECT count(*) FROM chat_completions WHERE id = ANY($1)", (object)later.Select(c => c.Id).ToArray()));
        Assert.Equal(0, await database.ScalarAsync("SELECT count(*) FROM chat_completions WHERE id = ANY($1)", (object)new[] { poisoned.Id, sameFlush.Id }));
        Assert.Contains(log.Entries, entry => entry.Level == LogLevel.Error && entry.Exception == error);
        Assert.True(failed.Value >= 2, $"{failed.Value} counted as failed");
    }

    [Theory]
    [InlineData(ChatCompletionWriterFullMode.Wait)]
    [InlineData(ChatCompletionWriterFullMode.Drop)]
    public async Task After_dispose_saving_and_queueing_throw_ObjectDisposedException(ChatCompletionWriterFullMode fullMode)
    {
        await using var store = database.CreateStore();
        var writer = new ChatCompletionWriter(store, new ChatCompletionWriterOptions { FullMode = fullMode });
        await writer.DisposeAsync().AsTask().WaitAsync(Bound, Token);

        await Assert.ThrowsAsync<ObjectDisposedException>(() => writer.SaveAsync(TestCompletions.Completion(), Token).WaitAsync(Bound, Token));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => writer.EnqueueAsync(TestCompletions.Completion(), Token).AsTask().WaitAsync(Bound, Token));
    }

    [Fact]
    public async Task Disposing_flushes_everything_queued()
    {
        var completions = Enumerable.Range(0, 500).Select(i => TestCompletions.Completion(content: $"queued {i}")).ToList();
        await using var store = database.CreateStore();
        var writer = new ChatCompletionWriter(store, new ChatCompletionWriterOptions { BatchSize = 64, FlushInterval = TimeSpan.FromSeconds(30) });

        foreach (var completion in completions)
        {
            Assert.True(await writer.EnqueueAsync(completion, Token));
        }

        await writer.DisposeAsync();

        Assert.Equal(500, await database.ScalarAsync("SELECT count(*) FROM chat_completions WHERE id = ANY($1)", (object)completions.Select(c => c.Id).ToArray()));
    }

    [Fact]
    public async Task A_flush_retried_after_a_partial_failure_sends_again_only_what_was_not_written()
    {
        var suffix = Guid.NewGuid().ToString("N");
        var (first, failing, last) = (TestCompletions.Completion($"writer-first-{suffix}"), TestCompletions.Completion($"writer-fail-{suffix}"), TestCompletions.Completion($"writer-last-{suffix}"));
        // Inserting the second completion fails once with a serialization failure (transient); sequences count outside
        // transactions, so they also count the attempts that rolled back.
        await database.ExecuteAsync($$"""
            CREATE SEQUENCE writer_attempts_{{suffix}}; CREATE SEQUENCE writer_failures_{{suffix}};
            CREATE FUNCTION writer_fault_{{suffix}}() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF NEW.id = '{{first.Id}}' THEN PERFORM nextval('writer_attempts_{{suffix}}'); END IF;
                IF NEW.id = '{{failing.Id}}' AND nextval('writer_failures_{{suffix}}') = 1 THEN
                    RAISE EXCEPTION 'injected' USING ERRCODE = '40001';
                END IF;
                RETURN NEW;
            END $$;
            CREATE TRIGGER writer_fault_{{suffix}} BEFORE INSERT ON chat_completions FOR EACH ROW EXECUTE FUNCTION writer_fault_{{suffix}}();
            """);
        try
        {
            // One completion per transaction, three per flush: the first commits before the second fails.
            await using var store = database.CreateStore(new ChatCompletionStoreOptions { BulkBatchSize = 1 });
            var writer = new ChatCompletionWriter(store, new ChatCompletionWriterOptions { BatchSize = 3, FlushInterval = TimeSpan.FromSeconds(30) });
            var saves = new[] { first, failing, last }.Select(c => writer.SaveAsync(c, Token)).ToList();
            await writer.DisposeAsync();

            Assert.Equal([SaveOutcome.Stored, SaveOutcome.Stored, SaveOutcome.Stored], await Task.WhenAll(saves));
            Assert.Equal(2, await database.ScalarAsync($"SELECT last_value FROM writer_failures_{suffix}"));
            Assert.Equal(1, await database.ScalarAsync($"SELECT last_value FROM writer_attempts_{suffix}"));
            Assert.Equal(3, await database.ScalarAsync("SELECT count(*) FROM chat_completions WHERE id LIKE $1", $"writer-%-{suffix}"));
        }
        finally
        {
            await database.ExecuteAsync($"DROP TRIGGER writer_fault_{suffix} ON chat_completions; DROP FUNCTION writer_fault_{suffix}();");
        }
    }

    [Fact]
    public async Task Save_completes_when_durable_and_reports_replays_and_rejections()
    {
        await using var store = database.CreateStore();
        await using var writer = new ChatCompletionWriter(store, new ChatCompletionWriterOptions { FlushInterval = TimeSpan.FromMilliseconds(20) });
        var completion = TestCompletions.Completion();
        var bad = TestCompletions.Completion(content: "nul \0");

        var first = await writer.SaveAsync(completion, Token);
        var stored = await database.ScalarAsync("SELECT count(*) FROM chat_completions WHERE id = $1", completion.Id);
        var replay = await writer.SaveAsync(ChatCompletionJson.Parse(ChatCompletionJson.Serialize(completion)), Token);
        var error = await Assert.ThrowsAsync<ChatCompletionValidationException>(() => writer.SaveAsync(bad, Token));

        Assert.Equal((SaveOutcome.Stored, 1L, SaveOutcome.AlreadyStored), (first, stored, replay));
        Assert.Equal(ChatCompletionValidationRule.NulCharacter, error.Rule);
    }

    [Fact]
    public async Task A_full_buffer_drops_and_counts_when_told_to_and_keeps_what_it_accepted()
    {
        long dropped = 0;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == StorageTelemetry.MeterName && instrument.Name == "storage.writer.dropped")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref dropped, value));
        listener.Start();

        // Hold a lock that blocks every insert, so the writer's first flush waits and its buffer fills.
        await using var blocker = await database.DataSource.OpenConnectionAsync(Token);
        await using var transaction = await blocker.BeginTransactionAsync(Token);
        await using (var lockTable = new NpgsqlCommand("LOCK TABLE chat_completions IN EXCLUSIVE MODE", blocker, transaction))
        {
            await lockTable.ExecuteNonQueryAsync(Token);
        }

        await using var store = database.CreateStore();
        var writer = new ChatCompletionWriter(store, new ChatCompletionWriterOptions
        {
            Capacity = 10, BatchSize = 5, FlushInterval = TimeSpan.FromMilliseconds(10), FullMode = ChatCompletionWriterFullMode.Drop,
        });
        var accepted = new List<ChatCompletion>();
        var refused = 0;
        for (var i = 0; i < 100; i++)
        {
            var completion = TestCompletions.Completion(content: $"burst {i}");
            if (await writer.EnqueueAsync(completion, Token))
            {
                accepted.Add(completion);
            }
            else
            {
                refused++;
            }

            await Task.Delay(1, Token);
        }

        await transaction.RollbackAsync(Token);
        await writer.DisposeAsync();

        Assert.InRange(refused, 1, 95);
        Assert.True(Interlocked.Read(ref dropped) >= refused);
        Assert.Equal(accepted.Count, await database.ScalarAsync("SELECT count(*) FROM chat_completions WHERE id = ANY($1)", (object)accepted.Select(c => c.Id).ToArray()));
    }

    /// <summary>Counts <c>storage.writer.failed</c> from its creation on (other tests' writers may add to it).</summary>
    private sealed class FailedCount : IDisposable
    {
        private readonly MeterListener _listener = new();
        private long _value;

        public FailedCount()
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == StorageTelemetry.MeterName && instrument.Name == "storage.writer.failed")
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref _value, value));
            _listener.Start();
        }

        public long Value => Interlocked.Read(ref _value);

        public void Dispose() => _listener.Dispose();
    }

    private sealed class ListLogger : ILogger<ChatCompletionWriter>
    {
        public ConcurrentQueue<(LogLevel Level, Exception? Exception, string Message)> Entries { get; } = new();

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Entries.Enqueue((logLevel, exception, formatter(state, exception)));
    }
}

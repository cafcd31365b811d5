using System.Diagnostics.Metrics;
using Npgsql;

namespace Storage.Tests;

public sealed class WriterTests(MigratedDatabase database) : IClassFixture<MigratedDatabase>
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

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
}

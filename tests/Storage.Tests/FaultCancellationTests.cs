using System.Diagnostics;
using Npgsql;

namespace Storage.Tests;

/// <summary>Issue 5: a cancelled save leaves nothing or everything behind, and the store carries on.</summary>
public sealed class FaultCancellationTests(MigratedDatabase database) : IClassFixture<MigratedDatabase>
{
    [Fact]
    public async Task A_save_cancelled_before_it_starts_writes_nothing_and_the_next_save_works()
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(20));
        await using var store = database.CreateStore();
        var completion = TestCompletions.Completion(choices: 2);

        var error = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => store.SaveAsync(completion, new CancellationToken(canceled: true)));
        var rows = await database.ScalarAsync("SELECT count(*) FROM chat_completions WHERE id = $1", completion.Id);
        var next = await store.SaveAsync(completion, timeout.Token);

        TestContext.Current.TestOutputHelper?.WriteLine($"cancellation: pre-cancelled save threw {error.GetType().Name}, rows after it {rows}, next save {next}");
        Assert.Equal(0, rows);
        Assert.Equal(SaveOutcome.Stored, next);
        Assert.Equal(2, await ChoiceCountAsync(completion.Id));
    }

    [Fact]
    public async Task A_save_cancelled_while_waiting_on_a_lock_leaves_no_partial_completion_and_the_next_save_works()
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(20));
        await using var store = database.CreateStore();
        var completion = TestCompletions.Completion(choices: 3);

        Exception error;
        long elapsed;
        await using (var holder = await database.DataSource.OpenConnectionAsync(timeout.Token))
        {
            // The completion row goes in; its choices wait behind the lock, so the cancel lands mid-transaction.
            await using var transaction = await holder.BeginTransactionAsync(timeout.Token);
            await using (var command = new NpgsqlCommand("LOCK TABLE chat_completion_choices IN EXCLUSIVE MODE", holder, transaction))
            {
                await command.ExecuteNonQueryAsync(timeout.Token);
            }

            using var cancel = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token);
            cancel.CancelAfter(TimeSpan.FromMilliseconds(300));
            var stopwatch = Stopwatch.StartNew();
            error = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => store.SaveAsync(completion, cancel.Token));
            elapsed = stopwatch.ElapsedMilliseconds;
            // The save must have been stopped by our cancel, not by the outer time box.
            Assert.False(timeout.IsCancellationRequested);
            await transaction.RollbackAsync(timeout.Token);
        }

        var rows = await database.ScalarAsync("SELECT count(*) FROM chat_completions WHERE id = $1", completion.Id);
        var choices = await ChoiceCountAsync(completion.Id);
        var next = await store.SaveAsync(completion, timeout.Token);
        var another = await store.SaveAsync(TestCompletions.Completion(), timeout.Token);

        TestContext.Current.TestOutputHelper?.WriteLine(
            $"cancellation: save cancelled after {elapsed} ms behind a lock threw {error.GetType().Name}, left rows {rows} / choices {choices}, next save {next}, another {another}");
        Assert.InRange(elapsed, 250, 10_000);
        Assert.True((rows, choices) is (0, 0) or (1, 3), $"partial completion left behind: {rows} rows, {choices} choices");
        Assert.Equal(rows == 0 ? SaveOutcome.Stored : SaveOutcome.AlreadyStored, next);
        Assert.Equal(SaveOutcome.Stored, another);
        Assert.Equal((1, 3), (await database.ScalarAsync("SELECT count(*) FROM chat_completions WHERE id = $1", completion.Id), await ChoiceCountAsync(completion.Id)));
    }

    private Task<long> ChoiceCountAsync(string id) => database.ScalarAsync(
        "SELECT count(*) FROM chat_completion_choices ch JOIN chat_completions c USING (completion_key, created) WHERE c.id = $1", id);
}

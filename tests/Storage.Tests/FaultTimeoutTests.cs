using System.Diagnostics;
using Npgsql;

namespace Storage.Tests;

/// <summary>Issue 5: a server-side statement timeout surfaces as the store's exception and leaves the pool usable.</summary>
public sealed class FaultTimeoutTests(MigratedDatabase database) : IClassFixture<MigratedDatabase>
{
    [Theory]
    [InlineData("list", "LOCK TABLE chat_completions IN ACCESS EXCLUSIVE MODE")]
    [InlineData("save", "LOCK TABLE chat_completion_choices IN EXCLUSIVE MODE")]
    public async Task A_statement_timeout_behind_a_lock_is_a_store_exception_and_the_next_call_succeeds(string operation, string lockSql)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(20));
        // A small pool, so the call after the timeout most likely reuses the connection the timeout hit.
        var builder = new NpgsqlConnectionStringBuilder(database.ConnectionString) { Options = "-c statement_timeout=200", MaxPoolSize = 2 };
        await using var dataSource = NpgsqlDataSource.Create(builder.ConnectionString);
        await using var store = new ChatCompletionStore(dataSource);
        await store.SaveAsync(TestCompletions.Completion(), timeout.Token);

        ChatCompletionStoreException error;
        long elapsed;
        await using (var holder = await database.DataSource.OpenConnectionAsync(timeout.Token))
        {
            await using var transaction = await holder.BeginTransactionAsync(timeout.Token);
            await using (var command = new NpgsqlCommand(lockSql, holder, transaction))
            {
                await command.ExecuteNonQueryAsync(timeout.Token);
            }

            var stopwatch = Stopwatch.StartNew();
            error = await Assert.ThrowsAsync<ChatCompletionStoreException>(async () =>
            {
                if (operation == "list")
                {
                    await store.ListAsync(cancellationToken: timeout.Token);
                }
                else
                {
                    await store.SaveAsync(TestCompletions.Completion(), timeout.Token);
                }
            });
            elapsed = stopwatch.ElapsedMilliseconds;
            await transaction.RollbackAsync(timeout.Token);
        }

        var completion = TestCompletions.Completion(choices: 2);
        var next = await store.SaveAsync(completion, timeout.Token);
        var page = await store.ListAsync(cancellationToken: timeout.Token);

        TestContext.Current.TestOutputHelper?.WriteLine(
            $"timeout: {operation} behind a lock failed after {elapsed} ms with {error.GetType().Name} ({error.Message}; transient {error.IsTransient}; inner {error.InnerException?.GetType().Name}), next save {next}, list {page.Items.Count} items");
        Assert.Contains("57014", error.Message, StringComparison.Ordinal);
        Assert.IsType<PostgresException>(FindPostgresException(error));
        Assert.True(elapsed < 10_000, $"the call took {elapsed} ms: was the timeout retried?");
        Assert.Equal(SaveOutcome.Stored, next);
        Assert.NotEmpty(page.Items);
        Assert.Equal(2, (await store.GetAsync(completion.Id, timeout.Token))!.Choices.Count);
    }

    private static PostgresException? FindPostgresException(Exception? e)
    {
        for (; e is not null; e = e.InnerException)
        {
            if (e is PostgresException postgres)
            {
                return postgres;
            }
        }

        return null;
    }
}

using Npgsql;

namespace Storage.Tests;

/// <summary>Npgsql's standard: kill the store's connection server-side and check the next call still works, exactly once.</summary>
public sealed class ResiliencyTests(MigratedDatabase database) : IClassFixture<MigratedDatabase>
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_save_on_a_connection_the_server_terminated_is_retried_and_stored_once()
    {
        // One pooled connection, so the save after the kill is bound to reuse the dead one.
        var builder = new NpgsqlConnectionStringBuilder(database.ConnectionString) { MaxPoolSize = 1, ApplicationName = "storage-resiliency-test" };
        await using var dataSource = NpgsqlDataSource.Create(builder.ConnectionString);
        await using var store = new ChatCompletionStore(dataSource);
        await store.SaveAsync(TestCompletions.Completion(), Token);

        var killed = await database.ScalarAsync(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = 'storage-resiliency-test'");
        var completion = TestCompletions.Completion();
        var outcome = await store.SaveAsync(completion, Token);

        Assert.Equal(1, killed);
        Assert.Equal(SaveOutcome.Stored, outcome);
        Assert.Equal(1, await database.ScalarAsync("SELECT count(*) FROM chat_completions WHERE id = $1", completion.Id));
        Assert.NotNull(await store.GetAsync(completion.Id, Token));
    }
}

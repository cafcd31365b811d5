using Npgsql;
using Storage.Internal;

namespace Storage.Tests;

/// <summary>
/// The data sources a store builds from connection strings prepare the statements it repeats (planning over many
/// partitions costs more than running a query), unless the string says otherwise, and prepared statements really are
/// used on the server.
/// </summary>
public sealed class DataSourceTests(MigratedDatabase database) : IClassFixture<MigratedDatabase>
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData("Host=127.0.0.1", StoreDataSources.DefaultMaxAutoPrepare)]
    [InlineData("Host=127.0.0.1;Max Auto Prepare=0", 0)]
    [InlineData("Host=127.0.0.1;MaxAutoPrepare=5", 5)]
    [InlineData("Host=127.0.0.1;max auto prepare=7", 7)]
    public async Task A_store_owned_data_source_prepares_unless_the_string_says_otherwise(string connectionString, int expected)
    {
        await using var dataSource = StoreDataSources.Create(connectionString);
        Assert.Equal(expected, new NpgsqlConnectionStringBuilder(dataSource.ConnectionString).MaxAutoPrepare);
    }

    [Fact]
    public async Task Repeated_reads_run_as_prepared_statements_on_the_server()
    {
        // One connection in the pool, so the probe below runs on the session the store's reads ran on.
        await using var dataSource = StoreDataSources.Create(new NpgsqlConnectionStringBuilder(database.ConnectionString) { MaxPoolSize = 1 }.ConnectionString);
        await using var store = new ChatCompletionStore(dataSource);
        var completion = TestCompletions.Completion("prepared-" + TestCompletions.Unique());
        await store.SaveAsync(completion, Token);
        for (var i = 0; i < 10; i++)
        {
            Assert.NotNull(await store.GetAsync(completion.Id, Token));
        }

        await using var connection = await dataSource.OpenConnectionAsync(Token);
        await using var command = new NpgsqlCommand("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE '%FROM chat_completions%'", connection);
        Assert.True((long)(await command.ExecuteScalarAsync(Token))! > 0);
    }

    [Fact]
    public async Task A_tenant_claim_does_not_outlive_its_lease_of_a_connection_that_keeps_prepared_statements()
    {
        // With statements prepared on a connection, Npgsql resets a returned connection without DISCARD ALL (which would
        // drop them): the tenant setting must still be gone before the next lease.
        await using var dataSource = StoreDataSources.Create(new NpgsqlConnectionStringBuilder(database.ConnectionString) { MaxPoolSize = 1 }.ConnectionString);
        await using var store = new ChatCompletionStore(dataSource);
        var tenant = store.ForTenant("lease-" + TestCompletions.Unique());
        var completion = TestCompletions.Completion("lease-" + TestCompletions.Unique());
        await tenant.SaveAsync(completion, Token);
        for (var i = 0; i < 10; i++)
        {
            Assert.NotNull(await tenant.GetAsync(completion.Id, Token));
        }

        Assert.Null(await store.GetAsync(completion.Id, Token));
        await using var connection = await dataSource.OpenConnectionAsync(Token);
        await using var command = new NpgsqlCommand(
            "SELECT coalesce(current_setting('storage.tenant', true), '') || '|' || (SELECT count(*) FROM pg_prepared_statements)", connection);
        var state = (string)(await command.ExecuteScalarAsync(Token))!;
        Assert.StartsWith("|", state, StringComparison.Ordinal);
        Assert.NotEqual("|0", state);
    }
}

namespace Storage.Cli.Tests;

/// <summary>
/// <c>storage citus distribute</c> on a server without Citus: a clear error and nothing changed. (On a real cluster it
/// is exercised by tests/Storage.Citus.Tests, which CI does not run.)
/// </summary>
public sealed class CitusTests(MigratedDatabase database) : IClassFixture<MigratedDatabase>
{
    [Fact]
    public async Task Distribute_without_the_citus_extension_fails_cleanly_and_keeps_the_single_node_rollup()
    {
        var result = await database.RunAsync("citus", "distribute");

        Cli.AssertCleanFailure(result);
        Assert.Contains("no citus extension", result.Error, StringComparison.Ordinal);
        Assert.Equal(2, await database.ScalarAsync(
            "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'chat_completions'::regclass AND tgname IN ('storage_usage_daily_insert', 'storage_usage_daily_update')"));
        Assert.Equal(1, await database.ScalarAsync("SELECT count(*) FROM pg_class WHERE relname = 'chat_completion_usage_daily' AND relkind = 'r'"));
    }

    [Fact]
    public async Task A_shard_count_out_of_range_is_a_usage_error()
    {
        var result = await database.RunAsync("citus", "distribute", "--shard-count", "0");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--shard-count must be between 1 and 64000.", result.Error, StringComparison.Ordinal);
    }
}

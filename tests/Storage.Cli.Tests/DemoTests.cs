namespace Storage.Cli.Tests;

/// <summary><c>storage demo</c> against a given database (the development cluster is covered by <see cref="DevClusterTests"/>).</summary>
public sealed class DemoTests(MigratedDatabase database) : IClassFixture<MigratedDatabase>
{
    [Fact]
    public async Task The_demo_imports_the_samples_and_shows_a_page_and_a_table_and_can_run_again()
    {
        var first = await database.RunAsync("demo");
        var second = await database.RunAsync("demo");

        Assert.True(first.ExitCode == 0, first.ToString());
        Assert.Contains("imported 5, skipped 0 (already stored), rejected 0", first.Out, StringComparison.Ordinal);
        Assert.Contains("\"object\": \"list\"", first.Out, StringComparison.Ordinal);
        Assert.Contains("\"has_more\": true", first.Out, StringComparison.Ordinal);
        Assert.Matches(@"(?m)^model\s+completions\s+prompt_tokens\s+completion_tokens\s+total_tokens\s+cost\s+unpriced$", first.Out);
        // 48 prompt tokens at 0.00000015 and 15 completion tokens at 0.0000006, the default table's prices
        Assert.Matches(@"(?m)^gpt-4o-mini-2024-07-18\s+1\s+48\s+15\s+63\s+0\.0000162\s+0$", first.Out);
        Assert.True(second.ExitCode == 0, second.ToString());
        Assert.Contains("imported 0, skipped 5 (already stored), rejected 0", second.Out, StringComparison.Ordinal);
    }
}

using System.Text.RegularExpressions;

namespace Storage.Cli.Tests;

/// <summary>
/// <c>storage partitions</c> lists and makes partitions; <c>storage prune --before</c> drops the months wholly before the
/// cutoff, deletes inside the month it cuts, and leaves the usage of every day as it was.
/// </summary>
public sealed class PartitionsTests(MigratedDatabase database) : IClassFixture<MigratedDatabase>
{
    private static DateTimeOffset Utc(int year, int month, int day) => new(year, month, day, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task Prune_before_a_time_drops_whole_months_and_keeps_their_usage()
    {
        DateTimeOffset[] times = [Utc(2020, 1, 15), Utc(2020, 2, 15), Utc(2020, 3, 10), Utc(2020, 3, 20)];
        var lines = times.Select((time, i) => TestCompletions.Json($"partitioned-{i}", time, usage: (100, 10)));
        Assert.Equal(0, (await database.RunWithInputAsync(string.Join('\n', lines), "import", "-")).ExitCode);

        var ensured = await database.RunAsync("partitions", "--ensure", "--months-ahead", "1");
        Assert.True(ensured.ExitCode == 0, ensured.ToString());
        Assert.Contains("made the partitions of", ensured.Error, StringComparison.Ordinal);
        Assert.Contains(ensured.OutLines, line => Regex.IsMatch(line, @"^chat_completions +chat_completions_p20200101 +2020-01-01T00:00:00Z +2020-02-01T00:00:00Z +\d* +\d+$"));
        Assert.Contains(ensured.OutLines, line => Regex.IsMatch(line, @"^chat_completion_choices +chat_completion_choices_default +\(default\) +\(default\)"));
        string[] usageArgs = ["usage", "--group-by", "day", "--created-after", "2020-01-01T00:00:00Z", "--created-before", "2020-12-31T23:59:59Z", "--json"];
        var usageBefore = await database.RunAsync(usageArgs);

        var dryRun = await database.RunAsync("prune", "--before", "2020-03-15T00:00:00Z", "--dry-run");
        var pruned = await database.RunAsync("prune", "--before", "2020-03-15T00:00:00Z");
        var listed = await database.RunAsync("partitions", "--json");

        Assert.Equal("would delete 3 completions created before 2020-03-15T00:00:00Z (dry run: nothing was deleted)", dryRun.OutLines.Single());
        Assert.Equal("deleted 3 completions created before 2020-03-15T00:00:00Z", pruned.OutLines.Single());
        Assert.DoesNotContain("_p20200101", listed.Out, StringComparison.Ordinal);
        Assert.DoesNotContain("_p20200201", listed.Out, StringComparison.Ordinal);
        Assert.Contains("\"partition\": \"chat_completions_p20200301\"", listed.Out, StringComparison.Ordinal);
        Assert.Equal(0, (await database.RunAsync("get", "partitioned-3")).ExitCode);
        Assert.Equal(1, (await database.RunAsync("get", "partitioned-2")).ExitCode);
        Assert.Equal(usageBefore.Out, (await database.RunAsync(usageArgs)).Out);
        Assert.Equal(4, Regex.Count(usageBefore.Out, "\"completions\": 1"));
    }

    [Theory]
    [InlineData("--older-than", "30d", "--before", "2020-01-01T00:00:00Z")]
    [InlineData("--dry-run", null, null, null)]
    public async Task Prune_takes_exactly_one_of_older_than_and_before(string first, string? firstValue, string? second, string? secondValue)
    {
        var args = new[] { "prune", first, firstValue, second, secondValue }.OfType<string>().ToArray();

        var result = await database.RunAsync(args);

        Cli.AssertCleanFailure(result, exitCode: 2);
        Assert.Contains("--older-than or --before", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Months_ahead_out_of_range_is_a_usage_error()
    {
        var result = await database.RunAsync("partitions", "--ensure", "--months-ahead", "121");

        Cli.AssertCleanFailure(result, exitCode: 2);
        Assert.Contains("--months-ahead", result.Error, StringComparison.Ordinal);
    }
}

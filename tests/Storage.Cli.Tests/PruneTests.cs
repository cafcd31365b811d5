using System.Text.RegularExpressions;

namespace Storage.Cli.Tests;

/// <summary><c>storage prune</c>: a dry run changes nothing, and a prune deletes exactly what it said.</summary>
public sealed partial class PruneTests(MigratedDatabase database) : IClassFixture<MigratedDatabase>
{
    [Fact]
    public async Task A_dry_run_changes_nothing_and_the_prune_deletes_what_it_said()
    {
        var now = DateTimeOffset.UtcNow;
        // Ages in days; the ones past 30 days go.
        int[] ages = [1, 10, 29, 31, 40, 100, 400];
        var tag = new Dictionary<string, string> { ["test"] = "ages" };
        var lines = ages.Select(age => TestCompletions.Json($"prune-{age}", now.AddDays(-age), metadata: tag));
        Assert.Equal(0, (await database.RunWithInputAsync(string.Join('\n', lines), "import", "-")).ExitCode);
        var before = await database.RunAsync("export", "--metadata", "test=ages");

        var dryRun = await database.RunAsync("prune", "--older-than", "30d", "--dry-run");
        var afterDryRun = await database.RunAsync("export", "--metadata", "test=ages");
        var pruned = await database.RunAsync("prune", "--older-than", "30d");
        var afterPrune = await database.RunAsync("export", "--metadata", "test=ages");

        Assert.Equal(ages.Length, before.OutLines.Count);
        Assert.True(dryRun.ExitCode == 0, dryRun.ToString());
        Assert.Equal(4, Count(WouldDelete(), dryRun.Out));
        Assert.Equal(before.Out, afterDryRun.Out);
        Assert.True(pruned.ExitCode == 0, pruned.ToString());
        Assert.Equal(4, Count(Deleted(), pruned.Out));
        Assert.Equal(["prune-1", "prune-10", "prune-29"], TestCompletions.Ids(afterPrune.OutLines).Order());
    }

    [Fact]
    public async Task A_prune_with_a_model_and_metadata_deletes_only_what_matches()
    {
        var old = DateTimeOffset.UtcNow.AddHours(-13);
        var acme = new Dictionary<string, string> { ["tenant"] = "acme" };
        string[] lines =
        [
            TestCompletions.Json("scoped-match", old, model: "scoped", metadata: acme),
            TestCompletions.Json("scoped-other-tenant", old, model: "scoped", metadata: new Dictionary<string, string> { ["tenant"] = "globex" }),
            TestCompletions.Json("scoped-other-model", old, model: "other-scoped", metadata: acme),
            TestCompletions.Json("scoped-recent", DateTimeOffset.UtcNow.AddHours(-1), model: "scoped", metadata: acme),
        ];
        Assert.Equal(0, (await database.RunWithInputAsync(string.Join('\n', lines), "import", "-")).ExitCode);

        var dryRun = await database.RunAsync("prune", "--older-than", "12h", "--model", "scoped", "--metadata", "tenant=acme", "--dry-run");
        var pruned = await database.RunAsync("prune", "--older-than", "720m", "--model", "scoped", "--metadata", "tenant=acme");

        Assert.Equal(1, Count(WouldDelete(), dryRun.Out));
        Assert.Equal(1, Count(Deleted(), pruned.Out));
        Assert.Equal(1, (await database.RunAsync("get", "scoped-match")).ExitCode);
        foreach (var kept in new[] { "scoped-other-tenant", "scoped-other-model", "scoped-recent" })
        {
            Assert.Equal(0, (await database.RunAsync("get", kept)).ExitCode);
        }
    }

    [Theory]
    [InlineData("30")]
    [InlineData("d")]
    [InlineData("0d")]
    [InlineData("3y")]
    public async Task A_bad_duration_is_a_usage_error(string duration)
    {
        var result = await database.RunAsync("prune", "--older-than", duration);

        Cli.AssertCleanFailure(result, exitCode: 2);
        Assert.Contains("--older-than", result.Error, StringComparison.Ordinal);
    }

    private static int Count(Regex pattern, string output)
    {
        var match = pattern.Match(output);
        Assert.True(match.Success, output);
        return int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
    }

    [GeneratedRegex(@"^would delete (\d+) completions created before \S+ \(dry run: nothing was deleted\)$", RegexOptions.Multiline)]
    private static partial Regex WouldDelete();

    [GeneratedRegex(@"^deleted (\d+) completions created before \S+$", RegexOptions.Multiline)]
    private static partial Regex Deleted();
}

namespace Storage.Cli.Tests;

/// <summary>Bad input is reported with its location and reason, and never stops the good input from being stored.</summary>
public sealed class ImportRejectionTests(MigratedDatabase database) : IClassFixture<MigratedDatabase>
{
    private static readonly DateTimeOffset Created = DateTimeOffset.FromUnixTimeSeconds(1_764_000_000);

    [Fact]
    public async Task A_jsonl_file_with_bad_lines_stores_the_good_ones_and_reports_each_bad_line()
    {
        var run = Guid.NewGuid().ToString("N");
        string[] lines =
        [
            TestCompletions.Json($"good-1-{run}", Created),
            $$"""{"id":"malformed-{{run}}","object":"chat.completion",""",
            TestCompletions.Json($"nul-escaped-{run}", Created, content: "a\u0000b"),
            "",
            $$"""{"id":"no-model-{{run}}","object":"chat.completion","created":1764000000,"choices":[]}""",
            TestCompletions.Json($"good-2-{run}", Created.AddSeconds(1)),
            $$$"""{"id":"nul-raw-{{{run}}}","object":"chat.completion","created":1764000000,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"a{{{'\0'}}}b"}}]}""",
            TestCompletions.Json($"good-3-{run}", Created.AddSeconds(2)),
        ];
        using var file = new TemporaryFile(".jsonl", string.Join('\n', lines) + '\n');

        var result = await database.RunAsync("import", file.Path);

        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.StartsWith("imported 3, skipped 0 (already stored), rejected 4;", result.Out, StringComparison.Ordinal);
        var errors = result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(4, errors.Length);
        AssertReported(errors, $"{file.Path}:2:", "MalformedJson");
        AssertReported(errors, $"{file.Path}:3:", "choices[0].message.content", "NulCharacter");
        AssertReported(errors, $"{file.Path}:5:", "'model'", "Required");
        AssertReported(errors, $"{file.Path}:7:", "MalformedJson");
        foreach (var id in new[] { "good-1", "good-2", "good-3" })
        {
            Assert.Equal(0, (await database.RunAsync("get", $"{id}-{run}")).ExitCode);
        }

        foreach (var id in new[] { "nul-escaped", "no-model" })
        {
            Assert.Equal(1, (await database.RunAsync("get", $"{id}-{run}")).ExitCode);
        }
    }

    [Fact]
    public async Task A_bad_element_of_an_array_is_reported_by_its_index_and_the_rest_are_stored()
    {
        var run = Guid.NewGuid().ToString("N");
        var array = $$"""
            [
              {{TestCompletions.Json($"first-{run}", Created)}},
              {"id":"no-choices-{{run}}","object":"chat.completion","created":1764000000,"model":"m"},
              {{TestCompletions.Json($"third-{run}", Created)}}
            ]
            """;
        using var file = new TemporaryFile(".json", array);

        var result = await database.RunAsync("import", file.Path);

        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.StartsWith("imported 2, skipped 0 (already stored), rejected 1;", result.Out, StringComparison.Ordinal);
        AssertReported(result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries), $"{file.Path}[1]:", "'choices'", "Required");
    }

    [Fact]
    public async Task Malformed_json_inside_an_array_keeps_what_came_before_and_reports_the_rest_as_skipped()
    {
        var run = Guid.NewGuid().ToString("N");
        using var file = new TemporaryFile(".json", $"[{TestCompletions.Json($"before-{run}", Created)}, {{\"id\": ");

        var result = await database.RunAsync("import", file.Path);

        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.StartsWith("imported 1, skipped 0 (already stored), rejected 1;", result.Out, StringComparison.Ordinal);
        AssertReported(result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries), $"{file.Path}[1]:", "MalformedJson");
    }

    [Fact]
    public async Task Standard_input_is_read_as_json_lines_and_named_in_messages()
    {
        var run = Guid.NewGuid().ToString("N");
        var input = TestCompletions.Json($"stdin-{run}", Created) + "\nnot json\n";

        var result = await database.RunWithInputAsync(input, "import", "-");

        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.StartsWith("imported 1, skipped 0 (already stored), rejected 1;", result.Out, StringComparison.Ordinal);
        AssertReported(result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries), "<stdin>:2:", "MalformedJson");
    }

    [Fact]
    public async Task A_missing_file_or_an_unknown_kind_stops_before_anything_is_stored()
    {
        var run = Guid.NewGuid().ToString("N");
        using var good = new TemporaryFile(".jsonl", TestCompletions.Json($"not-stored-{run}", Created));
        using var text = new TemporaryFile(".txt", "");

        var missing = await database.RunAsync("import", good.Path, "/nonexistent/completions.jsonl");
        var unknown = await database.RunAsync("import", good.Path, text.Path);

        Cli.AssertCleanFailure(missing);
        Assert.Contains("no such file", missing.Error, StringComparison.Ordinal);
        Cli.AssertCleanFailure(unknown);
        Assert.Contains("expected a .json or .jsonl file", unknown.Error, StringComparison.Ordinal);
        Assert.Equal(1, (await database.RunAsync("get", $"not-stored-{run}")).ExitCode);
    }

    private static void AssertReported(IReadOnlyList<string> errors, string location, params string[] reasons)
    {
        var line = errors.SingleOrDefault(error => error.StartsWith(location, StringComparison.Ordinal));
        Assert.True(line is not null, $"No message for {location} in:\n{string.Join('\n', errors)}");
        foreach (var reason in reasons)
        {
            Assert.Contains(reason, line, StringComparison.Ordinal);
        }
    }
}

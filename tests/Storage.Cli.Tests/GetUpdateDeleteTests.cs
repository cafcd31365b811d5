using System.Text.Json;

namespace Storage.Cli.Tests;

/// <summary><c>storage get</c>, <c>update-metadata</c> and <c>delete</c>.</summary>
public sealed class GetUpdateDeleteTests(MigratedDatabase database) : IClassFixture<MigratedDatabase>
{
    private static readonly DateTimeOffset Created = DateTimeOffset.FromUnixTimeSeconds(1_764_000_000);

    [Fact]
    public async Task Get_prints_the_stored_completion_as_wire_json()
    {
        var body = TestCompletions.Json("get-one", Created, usage: (3, 4));
        await database.RunWithInputAsync(body, "import", "-");

        var result = await database.RunAsync("get", "get-one");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("", result.Error);
        JsonAssert.SemanticallyEqual(body, result.Out);
    }

    [Fact]
    public async Task Get_of_a_missing_id_exits_1_with_a_message_and_no_stack_trace()
    {
        var result = await database.RunAsync("get", "no-such-completion");

        Cli.AssertCleanFailure(result);
        Assert.Equal("", result.Out);
        Assert.Contains("No stored completion has the id 'no-such-completion'", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Get_of_a_shared_id_prints_the_most_recently_stored_and_says_so()
    {
        var first = TestCompletions.Json("shared-id", Created, content: "first");
        var second = TestCompletions.Json("shared-id", Created, content: "second");
        await database.RunWithInputAsync(first, "import", "-");
        await database.RunWithInputAsync(second, "import", "-");

        var result = await database.RunAsync("get", "shared-id");

        Assert.True(result.ExitCode == 0, result.ToString());
        JsonAssert.SemanticallyEqual(second, result.Out);
        Assert.Contains("2 stored completions have the id 'shared-id'", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Update_metadata_replaces_the_map_and_prints_the_completion()
    {
        await database.RunWithInputAsync(
            TestCompletions.Json("update-me", Created, metadata: new Dictionary<string, string> { ["old"] = "1" }), "import", "-");

        var updated = await database.RunAsync("update-metadata", "update-me", "tenant=acme", "note=a=b", "empty=");
        var read = await database.RunAsync("get", "update-me");

        Assert.True(updated.ExitCode == 0, updated.ToString());
        JsonAssert.SemanticallyEqual("""{"tenant":"acme","note":"a=b","empty":""}""", Metadata(updated.Out));
        JsonAssert.SemanticallyEqual(updated.Out, read.Out);
    }

    [Fact]
    public async Task Update_metadata_of_a_missing_id_or_over_the_limits_fails_cleanly()
    {
        await database.RunWithInputAsync(TestCompletions.Json("limits", Created), "import", "-");

        var missing = await database.RunAsync("update-metadata", "no-such-completion", "a=b");
        var tooLong = await database.RunAsync("update-metadata", "limits", $"{new string('k', 65)}=v");
        var notPairs = await database.RunAsync("update-metadata", "limits", "novalue");

        Cli.AssertCleanFailure(missing);
        Assert.Contains("no-such-completion", missing.Error, StringComparison.Ordinal);
        Cli.AssertCleanFailure(tooLong);
        Assert.Contains("MetadataLimit", tooLong.Error, StringComparison.Ordinal);
        Cli.AssertCleanFailure(notPairs, exitCode: 2);
    }

    [Fact]
    public async Task Delete_prints_the_deletion_object_and_a_second_delete_fails()
    {
        await database.RunWithInputAsync(TestCompletions.Json("delete-me", Created), "import", "-");

        var deleted = await database.RunAsync("delete", "delete-me");
        var again = await database.RunAsync("delete", "delete-me");
        var read = await database.RunAsync("get", "delete-me");

        Assert.True(deleted.ExitCode == 0, deleted.ToString());
        JsonAssert.SemanticallyEqual("""{"id":"delete-me","object":"chat.completion.deleted","deleted":true}""", deleted.Out);
        Cli.AssertCleanFailure(again);
        Assert.Equal(1, read.ExitCode);
    }

    private static string Metadata(string completion) =>
        JsonDocument.Parse(completion).RootElement.GetProperty("metadata").GetRawText();
}

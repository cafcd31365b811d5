using System.Text;

namespace Storage.Cli.Tests;

/// <summary>
/// Issue 19: input that is not valid UTF-8 is refused with its line and byte, never stored with replacement characters,
/// and the rest of the input is still imported; a UTF-8 byte order mark at the start of a file is skipped.
/// </summary>
public sealed class ImportUtf8Tests(MigratedDatabase database) : IClassFixture<MigratedDatabase>
{
    private static readonly DateTimeOffset Created = DateTimeOffset.FromUnixTimeSeconds(1_764_000_000);
    private static readonly byte[] Bom = [0xEF, 0xBB, 0xBF];

    [Fact]
    public async Task A_jsonl_line_with_invalid_utf8_is_reported_by_line_and_byte_and_the_rest_are_stored()
    {
        var run = Guid.NewGuid().ToString("N");
        var badId = Spliced(TestCompletions.Json($"bad-id-{run}~", Created), [0xFF, 0xFE]);
        var badExtension = Spliced(TestCompletions.Json($"bad-ext-{run}", Created).Replace("\"object\":", "\"x_note\":\"caf~\",\"object\":", StringComparison.Ordinal), [0xC3]);
        byte[] file =
        [
            .. Bom, .. Utf8(TestCompletions.Json($"good-1-{run}", Created)), (byte)'\n',
            .. badId, (byte)'\r', (byte)'\n',
            .. badExtension, (byte)'\n',
            .. Utf8(TestCompletions.Json($"good-2-{run}", Created.AddSeconds(1))),
        ];
        using var jsonl = new TemporaryFile(".jsonl", file);

        var result = await database.RunAsync("import", jsonl.Path);

        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.StartsWith("imported 2, skipped 0 (already stored), rejected 2;", result.Out, StringComparison.Ordinal);
        var errors = result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, errors.Length);
        AssertReported(errors, $"{jsonl.Path}:2:", $"is not valid UTF-8: 0xFF at byte {Array.IndexOf(badId, (byte)0xFF) + 1} ", "MalformedJson");
        AssertReported(errors, $"{jsonl.Path}:3:", $"is not valid UTF-8: 0xC3 at byte {Array.IndexOf(badExtension, (byte)0xC3) + 1} ", "MalformedJson");
        Assert.Equal(0, (await database.RunAsync("get", $"good-1-{run}")).ExitCode);
        Assert.Equal(0, (await database.RunAsync("get", $"good-2-{run}")).ExitCode);
        Assert.Equal(1, (await database.RunAsync("get", $"bad-id-{run}\uFFFD\uFFFD")).ExitCode);
        Assert.Equal(1, (await database.RunAsync("get", $"bad-ext-{run}")).ExitCode);
    }

    [Fact]
    public async Task Invalid_utf8_on_standard_input_is_reported_by_line_and_the_rest_are_stored()
    {
        var run = Guid.NewGuid().ToString("N");
        var bad = Spliced(TestCompletions.Json($"stdin-bad-{run}~", Created), [0xFF, 0xFE]);
        byte[] input = [.. Bom, .. Utf8(TestCompletions.Json($"stdin-good-{run}", Created)), (byte)'\n', .. bad, (byte)'\n', .. Utf8(TestCompletions.Json($"stdin-after-{run}", Created))];

        var result = await database.RunWithInputAsync(input, "import", "-");

        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.StartsWith("imported 2, skipped 0 (already stored), rejected 1;", result.Out, StringComparison.Ordinal);
        AssertReported(result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries), "<stdin>:2:", $"0xFF at byte {Array.IndexOf(bad, (byte)0xFF) + 1} ");
        Assert.Equal(1, (await database.RunAsync("get", $"stdin-bad-{run}\uFFFD\uFFFD")).ExitCode);
    }

    [Fact]
    public async Task A_json_document_with_invalid_utf8_is_reported_by_line_and_byte_and_one_with_a_bom_is_imported()
    {
        var run = Guid.NewGuid().ToString("N");
        var pretty = TestCompletions.Json($"doc-bad-{run}~", Created).Replace(",\"object\"", ",\n  \"object\"", StringComparison.Ordinal).Replace("{\"id\"", "{\n  \"id\"", StringComparison.Ordinal);
        var bad = Spliced(pretty, [0xE2, 0x82]);
        using var badFile = new TemporaryFile(".json", bad);
        using var bomFile = new TemporaryFile(".json", [.. Bom, .. Utf8(TestCompletions.Json($"doc-bom-{run}", Created))]);

        var refused = await database.RunAsync("import", badFile.Path);
        var imported = await database.RunAsync("import", bomFile.Path);

        Assert.True(refused.ExitCode == 1, refused.ToString());
        Assert.StartsWith("imported 0, skipped 0 (already stored), rejected 1;", refused.Out, StringComparison.Ordinal);
        var lineStart = Array.LastIndexOf(bad, (byte)'\n', Array.IndexOf(bad, (byte)0xE2)) + 1;
        // The sequence E2 82 is cut short by the closing quote: the error is at its first byte.
        AssertReported(refused.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries), $"{badFile.Path}:", $"0xE2 at line 2, byte {Array.IndexOf(bad, (byte)0xE2) - lineStart + 1} ");
        Assert.True(imported.ExitCode == 0, imported.ToString());
        Assert.StartsWith("imported 1,", imported.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_array_element_with_invalid_utf8_is_reported_by_its_index_and_the_rest_are_stored()
    {
        var run = Guid.NewGuid().ToString("N");
        byte[] array =
        [
            .. Bom, (byte)'[', .. Utf8(TestCompletions.Json($"array-first-{run}", Created)), (byte)',', (byte)'\n',
            .. Spliced(TestCompletions.Json($"array-bad-{run}~", Created), [0xFF]), (byte)',', (byte)'\n',
            .. Utf8(TestCompletions.Json($"array-third-{run}", Created)), (byte)']',
        ];
        using var file = new TemporaryFile(".json", array);

        var result = await database.RunAsync("import", file.Path);

        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.StartsWith("imported 2, skipped 0 (already stored), rejected 1;", result.Out, StringComparison.Ordinal);
        AssertReported(result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries), $"{file.Path}[1]:", "is not valid UTF-8: 0xFF at byte");
        Assert.Equal(1, (await database.RunAsync("get", $"array-bad-{run}\uFFFD")).ExitCode);
    }

    private static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);

    /// <summary>The UTF-8 of <paramref name="json"/> with its one <c>~</c> replaced by <paramref name="bytes"/>.</summary>
    private static byte[] Spliced(string json, byte[] bytes)
    {
        var at = json.IndexOf('~', StringComparison.Ordinal);
        return [.. Utf8(json[..at]), .. bytes, .. Utf8(json[(at + 1)..])];
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

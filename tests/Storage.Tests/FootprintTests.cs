using System.Text;

namespace Storage.Tests;

/// <summary>What storing costs: bytes on disk per completion next to the size of its JSON.</summary>
public sealed class FootprintTests(MigratedDatabase database) : IClassFixture<MigratedDatabase>
{
    [Fact]
    public async Task Stored_bytes_per_completion_stay_within_twice_the_json_size()
    {
        var token = TestContext.Current.CancellationToken;
        var files = Fixtures.SharedCompletionFiles.Concat(Fixtures.SampleFiles).ToList();
        long jsonBytes = 0;
        await using var store = database.CreateStore(new ChatCompletionStoreOptions { ValidateMetadata = false });
        foreach (var file in files)
        {
            var json = Fixtures.Read(file);
            jsonBytes += Encoding.UTF8.GetByteCount(json);
            await store.SaveAsync(ChatCompletionJson.Parse(json), token);
        }

        await database.ExecuteAsync("VACUUM ANALYZE chat_completions");
        await database.ExecuteAsync("VACUUM ANALYZE chat_completion_choices");
        // Row bytes as stored (after TOAST compression), and everything on disk: heap, TOAST, indexes, free space.
        var rowBytes = await database.ScalarAsync("SELECT (SELECT sum(pg_column_size(c.*)) FROM chat_completions c) + (SELECT sum(pg_column_size(h.*)) FROM chat_completion_choices h)");
        var diskBytes = await database.ScalarAsync("SELECT pg_total_relation_size('chat_completions') + pg_total_relation_size('chat_completion_choices')");

        TestContext.Current.TestOutputHelper!.WriteLine(
            $"footprint: {files.Count} completions, JSON {jsonBytes} B ({jsonBytes / files.Count} B each), rows {rowBytes} B ({rowBytes / files.Count} B each, {(double)rowBytes / jsonBytes:0.00}x), on disk incl. indexes and page slack {diskBytes} B");
        Assert.InRange(rowBytes, 1, 2 * jsonBytes);
    }
}

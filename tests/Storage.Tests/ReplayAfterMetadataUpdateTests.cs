namespace Storage.Tests;

/// <summary>
/// The content hash leaves the metadata out, so a completion whose metadata was updated after it was stored is still
/// recognised as itself: exported and imported again, it is a replay, not a second completion with the same id.
/// </summary>
public sealed class ReplayAfterMetadataUpdateTests(PostgresFixture postgres)
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task An_export_taken_after_a_metadata_update_imports_as_replays_here_and_as_equal_rows_into_an_empty_database()
    {
        await using var source = new MigratedDatabase(postgres);
        await source.InitializeAsync();
        await using var empty = new MigratedDatabase(postgres);
        await empty.InitializeAsync();
        await using var store = source.CreateStore();
        var tenant = store.ForTenant("replays");
        var saved = new[] { TestCompletions.Completion(), TestCompletions.Completion(), TestCompletions.Completion() };
        saved[0].Metadata = new Dictionary<string, string> { ["stage"] = "draft" };
        foreach (var completion in saved)
        {
            Assert.Equal(SaveOutcome.Stored, await store.SaveAsync(completion, Token));
            Assert.Equal(SaveOutcome.Stored, await tenant.SaveAsync(completion, Token));
        }

        await store.UpdateMetadataAsync(saved[0].Id, new Dictionary<string, string> { ["stage"] = "reviewed", ["by"] = "ana" }, cancellationToken: Token);
        await store.UpdateMetadataAsync(saved[1].Id, new Dictionary<string, string> { ["added"] = "later" }, cancellationToken: Token);
        await tenant.UpdateMetadataAsync(saved[2].Id, new Dictionary<string, string> { ["tenant-side"] = "yes" }, cancellationToken: Token);
        var exported = await store.ExportAsync(null, Token).ToListAsync(Token);
        var exportedByTenant = await tenant.ExportAsync(null, Token).ToListAsync(Token);
        var before = await source.ScalarAsync("SELECT count(*) FROM chat_completions");

        var single = new List<SaveOutcome>();
        foreach (var completion in exported)
        {
            single.Add(await store.SaveAsync(ChatCompletionJson.Parse(ChatCompletionJson.Serialize(completion)), Token));
        }

        var bulk = await tenant.SaveManyAsync(exportedByTenant.Select(c => ChatCompletionJson.Parse(ChatCompletionJson.Serialize(c))), Token).ToListAsync(Token);

        Assert.All(single, outcome => Assert.Equal(SaveOutcome.AlreadyStored, outcome));
        Assert.All(bulk, result => Assert.Equal(SaveOutcome.AlreadyStored, result.Outcome));
        Assert.Equal(before, await source.ScalarAsync("SELECT count(*) FROM chat_completions"));
        Assert.Equal("reviewed", (await store.GetAsync(saved[0].Id, Token))!.Metadata!["stage"]);

        await using var copy = empty.CreateStore();
        var imported = await copy.SaveManyAsync(exported, Token).ToListAsync(Token);
        Assert.All(imported, result => Assert.Equal(SaveOutcome.Stored, result.Outcome));
        const string Rows = "SELECT string_agg(format('%s|%s|%s|%s', completion_key, created, id, metadata), ',' ORDER BY completion_key) FROM chat_completions WHERE tenant = ''";
        Assert.Equal(await TextAsync(source, Rows), await TextAsync(empty, Rows));
    }

    private static async Task<string?> TextAsync(MigratedDatabase database, string sql)
    {
        await using var command = database.DataSource.CreateCommand(sql);
        return (string?)await command.ExecuteScalarAsync(Token);
    }
}

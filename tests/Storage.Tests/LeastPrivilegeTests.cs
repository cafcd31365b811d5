using Npgsql;

namespace Storage.Tests;

/// <summary>
/// The two roles of the README: an owner that applies migrations, and an application role that reads and
/// writes rows and can do nothing else. The SQL is the README's, with per-run names.
/// </summary>
public sealed class LeastPrivilegeTests(PostgresFixture postgres)
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task The_application_role_reads_and_writes_rows_but_is_refused_ddl_and_writing_the_totals()
    {
        await using var roles = await RoleDatabase.CreateAsync(postgres, Token);
        await using var appSource = NpgsqlDataSource.Create(roles.AppConnectionString);
        await using var store = new ChatCompletionStore(appSource);
        var completion = TestCompletions.Completion();
        Assert.Equal(SaveOutcome.Stored, await store.SaveAsync(completion, Token));
        Assert.Equal(SaveOutcome.Stored, (await store.SaveManyAsync([TestCompletions.Completion()], Token).SingleAsync(Token)).Outcome);
        var read = await store.GetWithVersionAsync(completion.Id, Token);
        await store.UpdateMetadataAsync(completion.Id, new Dictionary<string, string> { ["tenant"] = "globex" }, read!.Version, Token);
        Assert.NotEmpty((await store.ListAsync(cancellationToken: Token)).Items);
        Assert.Equal(2, (await store.GetUsageAsync(cancellationToken: Token)).Single().Completions);
        Assert.True(await store.DeleteAsync(completion.Id, Token));
        // Partitions are made and dropped by the owner's functions, which the application role may call.
        var old = TestCompletions.Completion();
        old.Created = new DateTimeOffset(2019, 5, 5, 0, 0, 0, TimeSpan.Zero);
        Assert.Equal(SaveOutcome.Stored, await store.SaveAsync(old, Token));
        Assert.True(await store.EnsurePartitionsAsync(cancellationToken: Token) >= 1);
        Assert.Contains(await store.ListPartitionsAsync(Token), p => p.Name == "chat_completions_p20190501");
        Assert.Equal(1, await store.DeleteCreatedBeforeAsync(new DateTimeOffset(2019, 6, 1, 0, 0, 0, TimeSpan.Zero), cancellationToken: Token));
        Assert.DoesNotContain(await store.ListPartitionsAsync(Token), p => p.Name == "chat_completions_p20190501");

        // Search works for the application role without the trigram indexes; only the owner turns them on (creating
        // pg_trgm, a trusted extension, as the database's owner), and the role's searches then read them.
        Assert.Single((await store.ListAsync(new ChatCompletionFilter { Search = "HELLO" }, cancellationToken: Token)).Items);
        await Assert.ThrowsAsync<ChatCompletionStoreException>(() => store.SetSearchIndexAsync(true, Token));
        await using (var ownerSource = NpgsqlDataSource.Create(roles.OwnerConnectionString))
        await using (var owner = new ChatCompletionStore(ownerSource))
        {
            await owner.SetSearchIndexAsync(true, Token);
        }

        Assert.True(await store.HasSearchIndexAsync(Token));
        Assert.Single((await store.ListAsync(new ChatCompletionFilter { Search = "HELLO" }, cancellationToken: Token)).Items);

        foreach (var ddl in new[]
        {
            "CREATE TABLE intruder (x int)", "DROP TABLE chat_completion_choices", "ALTER TABLE chat_completions ADD COLUMN x int",
            "TRUNCATE chat_completions", "ALTER TABLE chat_completions DISABLE ROW LEVEL SECURITY",
            "SELECT count(*) FROM chat_completions_default", "DROP TABLE chat_completions_default",
            // The usage totals are written only by the triggers, which run as the owner: they cannot be forged.
            "UPDATE chat_completion_usage_daily SET completions = completions + 1",
            "INSERT INTO chat_completion_usage_daily VALUES ('', '2025-01-01', 'm', 1, 0, 0, 0, 0, 0)",
        })
        {
            var refused = await Assert.ThrowsAsync<PostgresException>(() => RoleDatabase.ExecuteAsync(appSource, Token, ddl));
            Assert.Equal(PostgresErrorCodes.InsufficientPrivilege, refused.SqlState);
        }
    }
}

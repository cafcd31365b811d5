using Npgsql;

namespace Storage.Tests;

/// <summary>Replacing a completion's metadata: validated, optimistic, and without touching its content hash.</summary>
public sealed class QueryUpdateTests(MigratedDatabase database) : IClassFixture<MigratedDatabase>
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Two_updates_from_the_same_read_the_second_gets_a_concurrency_error_and_the_first_wins()
    {
        var completion = TestCompletions.Completion();
        await using var store = database.CreateStore();
        await store.SaveAsync(completion, Token);
        var read = await store.GetWithVersionAsync(completion.Id, Token);

        var winner = await store.UpdateMetadataAsync(completion.Id, Map(("reviewed", "alice")), read!.Version, Token);
        var error = await Assert.ThrowsAsync<ChatCompletionConcurrencyException>(
            () => store.UpdateMetadataAsync(completion.Id, Map(("reviewed", "bob")), read.Version, Token));

        Assert.Equal(read.Version, error.ExpectedVersion);
        Assert.Equal(winner.Version, error.CurrentVersion);
        Assert.Equal(completion.Id, error.Id);
        var stored = await store.GetWithVersionAsync(completion.Id, Token);
        Assert.Equal(Map(("reviewed", "alice")), stored!.Completion.Metadata);
        Assert.Equal(winner.Version, stored.Version);
    }

    [Fact]
    public async Task Concurrent_updates_from_one_version_let_exactly_one_win()
    {
        var completion = TestCompletions.Completion();
        await using var store = database.CreateStore();
        await store.SaveAsync(completion, Token);
        var read = await store.GetWithVersionAsync(completion.Id, Token);

        var attempts = Enumerable.Range(0, 8).Select(async i =>
        {
            try
            {
                return (Writer: i, Result: await store.UpdateMetadataAsync(completion.Id, Map(("writer", $"{i}")), read!.Version, Token));
            }
            catch (ChatCompletionConcurrencyException)
            {
                return (Writer: i, Result: (StoredChatCompletion?)null);
            }
        });
        var outcomes = await Task.WhenAll(attempts);

        var winner = Assert.Single(outcomes, o => o.Result is not null);
        var stored = await store.GetAsync(completion.Id, Token);
        Assert.Equal(Map(("writer", $"{winner.Writer}")), stored!.Metadata);
    }

    [Fact]
    public async Task An_update_replaces_the_whole_map_and_keeps_the_content_hash_so_a_replay_is_still_recognised()
    {
        var completion = TestCompletions.Completion(choices: 2);
        var original = ChatCompletionJson.Serialize(completion);
        await using var store = database.CreateStore();
        await store.SaveAsync(completion, Token);
        var hash = await HashAsync(completion.Id);
        var read = await store.GetWithVersionAsync(completion.Id, Token);

        var updated = await store.UpdateMetadataAsync(completion.Id, Map(("team", "search"), ("quote", "it's \"fine\"")), read!.Version, Token);

        Assert.NotEqual(read.Version, updated.Version);
        Assert.Equal(Map(("team", "search"), ("quote", "it's \"fine\"")), updated.Completion.Metadata);
        Assert.Equal(2, updated.Completion.Choices.Count);
        Assert.Equal(hash, await HashAsync(completion.Id));
        Assert.Equal(SaveOutcome.AlreadyStored, await store.SaveAsync(ChatCompletionJson.Parse(original), Token));
        var stored = await store.GetAsync(completion.Id, Token);
        JsonAssert.SemanticallyEqual(ChatCompletionJson.Serialize(updated.Completion), ChatCompletionJson.Serialize(stored!));
        Assert.Single(await store.FindAsync(completion.Id, Token));
    }

    [Fact]
    public async Task Null_metadata_removes_the_map_and_without_a_version_the_last_writer_wins()
    {
        var completion = TestCompletions.Completion();
        await using var store = database.CreateStore();
        await store.SaveAsync(completion, Token);

        var first = await store.UpdateMetadataAsync(completion.Id, Map(("a", "1")), cancellationToken: Token);
        var second = await store.UpdateMetadataAsync(completion.Id, null, cancellationToken: Token);

        Assert.NotEqual(first.Version, second.Version);
        Assert.Null(second.Completion.Metadata);
        Assert.Null((await store.GetAsync(completion.Id, Token))!.Metadata);
        Assert.Equal(0, await database.ScalarAsync("SELECT count(*) FROM chat_completions WHERE id = $1 AND metadata IS NOT NULL", completion.Id));
    }

    public static TheoryData<string, string, ChatCompletionValidationRule> BadMetadata() => new()
    {
        { "17 pairs", "metadata", ChatCompletionValidationRule.MetadataLimit },
        { "65-character key", "metadata." + new string('k', 65), ChatCompletionValidationRule.MetadataLimit },
        { "513-character value", "metadata.note", ChatCompletionValidationRule.MetadataLimit },
        { "nul in a value", "metadata.note", ChatCompletionValidationRule.NulCharacter },
        { "null value", "metadata.note", ChatCompletionValidationRule.Required },
    };

    [Theory]
    [MemberData(nameof(BadMetadata))]
    public async Task Bad_metadata_is_rejected_naming_the_field_and_nothing_changes(string @case, string field, ChatCompletionValidationRule rule)
    {
        var metadata = @case switch
        {
            "17 pairs" => Enumerable.Range(0, 17).ToDictionary(i => $"k{i}", i => "v"),
            "65-character key" => Map((new string('k', 65), "v")),
            "513-character value" => Map(("note", new string('v', 513))),
            "nul in a value" => Map(("note", "a\0b")),
            _ => Map(("note", null!)),
        };
        var completion = TestCompletions.Completion();
        await using var store = database.CreateStore();
        await store.SaveAsync(completion, Token);
        var before = await store.GetWithVersionAsync(completion.Id, Token);

        var error = await Assert.ThrowsAsync<ChatCompletionValidationException>(
            () => store.UpdateMetadataAsync(completion.Id, metadata, before!.Version, Token));

        Assert.Equal(rule, error.Rule);
        Assert.Equal(field, error.Field);
        var after = await store.GetWithVersionAsync(completion.Id, Token);
        Assert.Equal(before!.Version, after!.Version);
        Assert.Equal(before.Completion.Metadata, after.Completion.Metadata);
    }

    [Fact]
    public async Task The_limits_can_be_turned_off_for_updates_as_for_saves()
    {
        var completion = TestCompletions.Completion();
        await using var store = database.CreateStore(new ChatCompletionStoreOptions { ValidateMetadata = false });
        await store.SaveAsync(completion, Token);
        var wide = Enumerable.Range(0, 20).ToDictionary(i => $"k{i}", i => new string('v', 600));

        var updated = await store.UpdateMetadataAsync(completion.Id, wide, cancellationToken: Token);

        Assert.Equal(20, updated.Completion.Metadata!.Count);
    }

    [Fact]
    public async Task Updating_an_unknown_id_is_not_found_and_with_a_version_a_conflict()
    {
        await using var store = database.CreateStore();

        var notFound = await Assert.ThrowsAsync<ChatCompletionNotFoundException>(
            () => store.UpdateMetadataAsync("chatcmpl-never-stored", Map(("a", "b")), cancellationToken: Token));
        var conflict = await Assert.ThrowsAsync<ChatCompletionConcurrencyException>(
            () => store.UpdateMetadataAsync("chatcmpl-never-stored", Map(("a", "b")), "0000000000000000.0.0", Token));

        Assert.Equal("id", notFound.ParameterName);
        Assert.Null(conflict.CurrentVersion);
    }

    [Fact]
    public async Task A_deleted_completion_fails_an_update_with_its_old_version()
    {
        var completion = TestCompletions.Completion();
        await using var store = database.CreateStore();
        await store.SaveAsync(completion, Token);
        var read = await store.GetWithVersionAsync(completion.Id, Token);
        await store.DeleteAsync(completion.Id, Token);

        var error = await Assert.ThrowsAsync<ChatCompletionConcurrencyException>(
            () => store.UpdateMetadataAsync(completion.Id, Map(("a", "b")), read!.Version, Token));

        Assert.Null(error.CurrentVersion);
        Assert.Null(await store.GetAsync(completion.Id, Token));
    }

    [Fact]
    public async Task A_version_read_before_another_completion_took_the_id_is_a_conflict()
    {
        var id = $"chatcmpl-reused-{Guid.NewGuid():N}";
        await using var store = database.CreateStore();
        await store.SaveAsync(TestCompletions.Completion(id: id, content: "first"), Token);
        var read = await store.GetWithVersionAsync(id, Token);
        await store.SaveAsync(TestCompletions.Completion(id: id, content: "second"), Token);

        await Assert.ThrowsAsync<ChatCompletionConcurrencyException>(() => store.UpdateMetadataAsync(id, Map(("a", "b")), read!.Version, Token));

        Assert.All(await store.FindAsync(id, Token), c => Assert.Equal(Map(("tenant", "acme")), c.Metadata));
    }

    [Theory]
    [InlineData("")]
    [InlineData("garbage")]
    [InlineData("\"W/etag\"")]
    public async Task A_version_this_store_did_not_issue_never_matches(string version)
    {
        var completion = TestCompletions.Completion();
        await using var store = database.CreateStore();
        await store.SaveAsync(completion, Token);

        await Assert.ThrowsAsync<ChatCompletionConcurrencyException>(() => store.UpdateMetadataAsync(completion.Id, Map(("a", "b")), version, Token));
    }

    [Fact]
    public async Task Saving_and_reading_report_the_same_version_until_the_next_write()
    {
        var completion = TestCompletions.Completion();
        await using var store = database.CreateStore();
        await store.SaveAsync(completion, Token);

        var first = await store.GetWithVersionAsync(completion.Id, Token);
        var again = await store.GetWithVersionAsync(completion.Id, Token);

        Assert.Equal(first!.Version, again!.Version);
        Assert.Matches("^[0-9a-f]{16}\\.[0-9]+\\.[0-9]+$", first.Version);
        JsonAssert.SemanticallyEqual(ChatCompletionJson.Serialize(completion), ChatCompletionJson.Serialize(first.Completion));
        Assert.Null(await store.GetWithVersionAsync("chatcmpl-never-stored", Token));
    }

    private static Dictionary<string, string> Map(params (string Key, string Value)[] pairs) =>
        pairs.ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);

    private async Task<byte[]> HashAsync(string id)
    {
        await using var command = database.DataSource.CreateCommand("SELECT content_hash FROM chat_completions WHERE id = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = id });
        return (byte[])(await command.ExecuteScalarAsync(Token))!;
    }
}

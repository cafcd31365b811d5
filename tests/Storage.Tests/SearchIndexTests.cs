using Npgsql;

namespace Storage.Tests;

/// <summary>
/// The trigram indexes of search turned on (<see cref="ChatCompletionStore.SetSearchIndexAsync"/>): the same answers as
/// without them, plans that read them in every script the C.UTF-8 locale calls alphanumeric, partitions made later get
/// them too, and turning them off leaves search working.
/// </summary>
public sealed class SearchIndexTests(MigratedDatabase database) : IClassFixture<MigratedDatabase>, IAsyncLifetime
{
    private static readonly string[] ChoiceIndexes =
    [
        "ix_chat_completion_choices_search_content", "ix_chat_completion_choices_search_parts", "ix_chat_completion_choices_search_refusal",
        "ix_chat_completion_choices_search_reasoning", "ix_chat_completion_choices_search_reasoning_content", "ix_chat_completion_choices_search_tool_calls",
    ];

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        await using var store = database.CreateStore();
        await store.SetSearchIndexAsync(true, Token);
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    [Fact]
    public async Task With_the_indexes_on_search_answers_as_without_them()
    {
        var model = $"indexed-{TestCompletions.Unique()}";
        await using var store = database.CreateStore();
        await store.SaveManyAsync(SearchData.Build(model), Token).ToListAsync(Token);

        Assert.True(await store.HasSearchIndexAsync(Token));
        await SearchData.AssertHitsAndMissesAsync(store, model, Token);
    }

    [Theory]
    [InlineData("CKBROWNF")]
    [InlineData("ДРАВСТВ")]
    [InlineData("天气很好")]
    [InlineData("بالعال")]
    [InlineData("ΛΗΜΈΡΑ")]
    public async Task The_indexes_serve_a_search_in_each_script(string term)
    {
        await using var connection = await database.DataSource.OpenConnectionAsync(Token);
        await using var transaction = await connection.BeginTransactionAsync(Token);
        // On tables this small any scan is cheap, and the tenant's btree indexes look as good as any: with sequential scans
        // discouraged and those indexes dropped (in the transaction, rolled back), the plan shows which indexes can serve.
        await using (var setup = new NpgsqlCommand(
            "SET LOCAL enable_seqscan = off; DROP INDEX ix_chat_completions_tenant_created_completion_key, " +
            "ix_chat_completions_tenant_model_created_completion_key, ix_chat_completions_tenant_id", connection, transaction))
        {
            await setup.ExecuteNonQueryAsync(Token);
        }

        // The usage scan's statement: the same columns, functions and union as the list's LINQ, in SQL.
        await using var explain = new NpgsqlCommand(
            "EXPLAIN SELECT count(*) FROM chat_completions AS c WHERE c.tenant = @tenant AND " + Storage.Internal.UsageSql.Search("@search"), connection, transaction);
        explain.Parameters.AddWithValue("tenant", "");
        explain.Parameters.AddWithValue("search", Storage.Internal.FilterValues.LikePattern(term));
        var plan = string.Join('\n', await ReadAllAsync(explain));

        foreach (var index in ChoiceIndexes.Append("ix_chat_completions_search_request"))
        {
            // Each partition has its own copy of the index, named by PostgreSQL; the plan reads one of them.
            var copies = await PartitionIndexesAsync(index);
            Assert.True(copies.Any(copy => plan.Contains($"Bitmap Index Scan on {copy} ", StringComparison.Ordinal)), $"{index}:\n{plan}");
        }
    }

    private async Task<List<string>> PartitionIndexesAsync(string index)
    {
        await using var command = database.DataSource.CreateCommand(
            "SELECT c.relname::text FROM pg_inherits AS i JOIN pg_class AS c ON c.oid = i.inhrelid WHERE i.inhparent = to_regclass($1)");
        command.Parameters.Add(new NpgsqlParameter { Value = index });
        return await ReadAllAsync(command);
    }

    [Fact]
    public async Task A_partition_made_later_has_every_search_index_and_turning_them_off_keeps_search_working()
    {
        var model = $"later-{TestCompletions.Unique()}";
        await using var store = database.CreateStore();
        var old = TestCompletions.Completion($"{model}-old", content: "Привет из прошлого", model: model);
        old.Created = new DateTimeOffset(2018, 2, 10, 0, 0, 0, TimeSpan.Zero);
        await store.SaveAsync(old, Token);
        await store.EnsurePartitionsAsync(0, Token);

        Assert.Equal(ChoiceIndexes.Length, await CountIndexesAsync("chat_completion_choices_p20180201"));
        Assert.Equal(1, await CountIndexesAsync("chat_completions_p20180201"));
        Assert.Equal([old.Id], await SearchData.IdsAsync(store, new ChatCompletionFilter { Model = model, Search = "ПРОШЛ" }, Token));

        await store.SetSearchIndexAsync(false, Token);
        try
        {
            Assert.False(await store.HasSearchIndexAsync(Token));
            Assert.Equal(0, await CountIndexesAsync("chat_completion_choices_p20180201"));
            Assert.Equal([old.Id], await SearchData.IdsAsync(store, new ChatCompletionFilter { Model = model, Search = "ПРОШЛ" }, Token));
        }
        finally
        {
            await store.SetSearchIndexAsync(true, Token);
        }
    }

    private async Task<long> CountIndexesAsync(string table) =>
        await database.ScalarAsync("SELECT count(*) FROM pg_indexes WHERE tablename = $1 AND indexdef LIKE '%gin_trgm_ops%'", table);

    private static async Task<List<string>> ReadAllAsync(NpgsqlCommand command)
    {
        var lines = new List<string>();
        await using var reader = await command.ExecuteReaderAsync(Token);
        while (await reader.ReadAsync(Token))
        {
            lines.Add(reader.GetString(0));
        }

        return lines;
    }
}

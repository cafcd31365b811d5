using Storage.Internal;

namespace Storage.Tests;

public sealed class BulkSaveTests(MigratedDatabase database) : IClassFixture<MigratedDatabase>
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_batch_with_replays_duplicates_and_bad_items_stores_exactly_the_good_distinct_ones()
    {
        await using var store = database.CreateStore(new ChatCompletionStoreOptions { BulkBatchSize = 4 });
        var earlier = TestCompletions.Completion(content: "stored before");
        await store.SaveAsync(earlier, Token);
        var good = Enumerable.Range(0, 6).Select(i => TestCompletions.Completion(content: $"good {i}")).ToList();
        var nul = TestCompletions.Completion(content: "bad \0");
        var noModel = TestCompletions.Completion();
        noModel.Model = null!;
        ChatCompletion[] input =
        [
            good[0], earlier, good[1], nul, good[1], good[2], ChatCompletionJson.Parse(ChatCompletionJson.Serialize(good[0])),
            good[3], noModel, good[4], good[5], good[5],
        ];

        var results = await store.SaveManyAsync(input, Token).ToListAsync(Token);

        Assert.Equal(Enumerable.Range(0, input.Length).Select(i => (long)i), results.Select(r => r.Position));
        Assert.Equal(
            [SaveOutcome.Stored, SaveOutcome.AlreadyStored, SaveOutcome.Stored, null, SaveOutcome.AlreadyStored, SaveOutcome.Stored, SaveOutcome.AlreadyStored,
             SaveOutcome.Stored, null, SaveOutcome.Stored, SaveOutcome.Stored, SaveOutcome.AlreadyStored],
            results.Select(r => r.Outcome));
        Assert.Equal(ChatCompletionValidationRule.NulCharacter, Assert.IsType<ChatCompletionValidationException>(results[3].Error).Rule);
        Assert.Equal("model", Assert.IsType<ChatCompletionValidationException>(results[8].Error).Field);
        foreach (var completion in good.Append(earlier))
        {
            Assert.Equal(1, await database.ScalarAsync("SELECT count(*) FROM chat_completions WHERE id = $1", completion.Id));
            Assert.Equal(1, await database.ScalarAsync("SELECT count(*) FROM chat_completion_choices h JOIN chat_completions c USING (completion_key, created) WHERE c.id = $1", completion.Id));
        }

        Assert.Equal(0, await database.ScalarAsync("SELECT count(*) FROM chat_completions WHERE id = ANY($1)", (object)new[] { nul.Id, noModel.Id }));
    }

    [Fact]
    public async Task Replays_scattered_over_many_batches_are_already_stored_whether_a_batch_copies_straight_or_stages()
    {
        // Batches of 3: a batch with a replay rolls its straight COPY back and stages, the next few stage, then
        // straight COPY resumes; every outcome must be the same as with staging throughout.
        await using var store = database.CreateStore(new ChatCompletionStoreOptions { BulkBatchSize = 3 });
        var earlier = Enumerable.Range(0, 5).Select(i => TestCompletions.Completion(content: $"stored before {i}")).ToList();
        foreach (var completion in earlier)
        {
            await store.SaveAsync(completion, Token);
        }

        var input = new List<ChatCompletion>();
        var expected = new List<SaveOutcome?>();
        var fresh = new List<string>();
        for (var i = 0; i < 60; i++)
        {
            var completion = TestCompletions.Completion(content: $"fresh {i}");
            input.Add(completion);
            fresh.Add(completion.Id);
            expected.Add(SaveOutcome.Stored);
            if (i % 12 == 5)
            {
                input.Add(ChatCompletionJson.Parse(ChatCompletionJson.Serialize(earlier[i / 12])));
                expected.Add(SaveOutcome.AlreadyStored);
            }
        }

        var results = await store.SaveManyAsync(input, Token).ToListAsync(Token);

        Assert.Equal(expected, results.Select(r => r.Outcome));
        Assert.Equal(60, await database.ScalarAsync("SELECT count(DISTINCT id) FROM chat_completions WHERE id = ANY($1)", (object)fresh.ToArray()));
        Assert.Equal(65, await database.ScalarAsync("SELECT count(*) FROM chat_completions WHERE id = ANY($1)", (object)fresh.Concat(earlier.Select(c => c.Id)).ToArray()));
        Assert.Equal(65, await database.ScalarAsync(
            "SELECT count(*) FROM chat_completion_choices h JOIN chat_completions c USING (completion_key, created) WHERE c.id = ANY($1)", (object)fresh.Concat(earlier.Select(c => c.Id)).ToArray()));
    }

    [Fact]
    public async Task Bulk_saved_fixtures_read_back_as_equal_json()
    {
        var files = Fixtures.SharedCompletionFiles.Concat(Fixtures.SampleFiles).ToList();
        await using var store = database.CreateStore(new ChatCompletionStoreOptions { ValidateMetadata = false, BulkBatchSize = 7 });
        var bodies = files.Select(Fixtures.Read).ToList();

        var results = await store.SaveManyAsync(bodies.Select(ChatCompletionJson.Parse).ToAsyncEnumerable(), Token).ToListAsync(Token);

        Assert.All(results, r => Assert.Null(r.Error));
        foreach (var json in bodies)
        {
            var stored = await store.FindAsync(ChatCompletionJson.Parse(json).Id, Token);
            var differences = stored.Select(c => JsonAssert.FirstDifferenceOf(json, ChatCompletionJson.Serialize(c))).ToList();
            Assert.True(differences.Contains(null), $"No stored completion equals the input: {string.Join("; ", differences)}");
        }
    }

    [Theory]
    [InlineData("chat_completions")]
    [InlineData("chat_completion_choices")]
    public async Task The_bulk_columns_are_every_writable_column_of_the_table(string table)
    {
        var expected = table == "chat_completions"
            ? BulkCopy.CompletionColumns.Select(c => c.Name)
            : BulkCopy.ChoiceColumns.Select(c => c.Name);
        await using var command = database.DataSource.CreateCommand(
            "SELECT column_name FROM information_schema.columns WHERE table_name = $1 AND is_generated = 'NEVER' AND column_default IS NULL");
        command.Parameters.Add(new Npgsql.NpgsqlParameter { Value = table });
        var actual = new List<string>();
        await using (var reader = await command.ExecuteReaderAsync(Token))
        {
            while (await reader.ReadAsync(Token))
            {
                actual.Add(reader.GetString(0));
            }
        }

        Assert.Equal(expected.Order(StringComparer.Ordinal), actual.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task The_bulk_path_writes_every_column_exactly_as_EF_does()
    {
        // The bulk columns come from the EF model (BulkColumns): a column EF writes and COPY does not, or a value COPY reads
        // from the wrong property or writes without the model's converter, makes the two tenants' rows differ.
        var bodies = Fixtures.SharedCompletionFiles.Concat(Fixtures.SampleFiles).Select(Fixtures.Read).ToList();
        var withCall = TestCompletions.Completion(content: "with a call");
        withCall.Call = new ChatCompletionCall
        {
            StartedAt = new DateTimeOffset(2025, 6, 1, 12, 0, 0, TimeSpan.Zero).AddTicks(1_234_560),
            Request = System.Text.Json.JsonElement.Parse("""{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Hi"}]}"""),
            Latency = TimeSpan.FromMilliseconds(1234.567),
            TimeToFirstToken = TimeSpan.FromMilliseconds(87.5),
            TraceId = "4bf92f3577b34da6a3ce929d0e0e4736",
            SpanId = "00f067aa0ba902b7",
        };
        List<ChatCompletion> Input() => [.. bodies.Select(ChatCompletionJson.Parse), withCall];

        await using var store = database.CreateStore(new ChatCompletionStoreOptions { ValidateMetadata = false });
        var viaEf = store.ForTenant("columns-via-ef");
        foreach (var completion in Input())
        {
            await viaEf.SaveAsync(completion, Token);
        }

        var results = await store.ForTenant("columns-via-copy").SaveManyAsync(Input(), Token).ToListAsync(Token);

        Assert.All(results, r => Assert.Null(r.Error));
        Assert.Equal(await RowsAsync("columns-via-ef"), await RowsAsync("columns-via-copy"));
        Assert.Equal(
            BulkCopy.CompletionColumns.Length + BulkCopy.ChoiceColumns.Length,
            await database.ScalarAsync(
                "SELECT count(DISTINCT k) FROM (SELECT jsonb_object_keys(to_jsonb(c)) k FROM chat_completions c WHERE tenant = $1 UNION ALL "
                + "SELECT 'choice.' || jsonb_object_keys(to_jsonb(h)) FROM chat_completion_choices h WHERE tenant = $1) keys "
                + "WHERE k NOT IN ('tenant', 'stored_at', 'choice.tenant')",
                "columns-via-ef"));
    }

    [Fact]
    public async Task An_input_that_fails_mid_way_leaves_no_batch_being_written_behind_the_callers_back()
    {
        await using var store = database.CreateStore(new ChatCompletionStoreOptions { BulkBatchSize = 10 });
        var input = Enumerable.Range(0, 15).Select(i => TestCompletions.Completion(content: $"failing input {i}")).ToList();

        // Batch 1 is handed to a background write at item 10; the input then fails while it is in flight.
        var error = await Assert.ThrowsAsync<InvalidOperationException>(async () =>
        {
            await foreach (var result in store.SaveManyAsync(Failing(input), Token))
            {
                Assert.Fail($"nothing is acknowledged before batch 1 is awaited, got item {result.Position}");
            }
        });

        // By the time the failure surfaced, batch 1 had finished: committed, not still running unobserved.
        Assert.Equal("the input broke", error.Message);
        Assert.Equal(10, await database.ScalarAsync("SELECT count(*) FROM chat_completions WHERE id = ANY($1)", (object)input.Select(c => c.Id).ToArray()));
    }

    private static async IAsyncEnumerable<ChatCompletion> Failing(IEnumerable<ChatCompletion> completions)
    {
        foreach (var completion in completions)
        {
            await Task.Yield();
            yield return completion;
        }

        throw new InvalidOperationException("the input broke");
    }

    // Every column but the tenant, the keys and hash (which mix in the tenant) and stored_at; choices with their completion's id.
    private async Task<List<string>> RowsAsync(string tenant)
    {
        await using var command = database.DataSource.CreateCommand("""
            SELECT (to_jsonb(c) - 'tenant' - 'completion_key' - 'content_hash' - 'stored_at')::text FROM chat_completions c WHERE c.tenant = $1
            UNION ALL
            SELECT c.id || ' ' || (to_jsonb(h) - 'tenant' - 'completion_key')::text
            FROM chat_completion_choices h JOIN chat_completions c USING (tenant, completion_key, created) WHERE h.tenant = $1
            ORDER BY 1
            """);
        command.Parameters.Add(new Npgsql.NpgsqlParameter { Value = tenant });
        var rows = new List<string>();
        await using var reader = await command.ExecuteReaderAsync(Token);
        while (await reader.ReadAsync(Token))
        {
            rows.Add(reader.GetString(0));
        }

        return rows;
    }
}

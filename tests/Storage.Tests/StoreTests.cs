using System.Text.Json.Nodes;

namespace Storage.Tests;

public sealed class StoreTests(MigratedDatabase database) : IClassFixture<MigratedDatabase>
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_replay_is_recognised_whatever_the_member_order_or_number_spelling()
    {
        var json = TestCompletions.Json("\"Replay me\"").Replace("\"total_tokens\":3", "\"total_tokens\":3,\"cost\":0.0000412", StringComparison.Ordinal);
        // jsonb respells numbers and reorders members; an export re-imported must still be a replay.
        var respelled = JsonNode.Parse(json.Replace("0.0000412", "4.120E-5", StringComparison.Ordinal))!.AsObject();
        var reordered = new JsonObject(respelled.Reverse().Select(p => KeyValuePair.Create(p.Key, p.Value?.DeepClone())));
        await using var store = database.CreateStore();

        var first = await store.SaveAsync(ChatCompletionJson.Parse(json), Token);
        var replay = await store.SaveAsync(ChatCompletionJson.Parse(reordered.ToJsonString()), Token);

        Assert.Equal((SaveOutcome.Stored, SaveOutcome.AlreadyStored), (first, replay));
        Assert.Equal(1, await database.ScalarAsync("SELECT count(*) FROM chat_completions WHERE id = $1", ChatCompletionJson.Parse(json).Id));
    }

    [Fact]
    public async Task Distinct_completions_sharing_a_vendor_id_are_both_kept_and_the_latest_is_returned()
    {
        var first = TestCompletions.Completion(id: "chatcmpl-213", content: "before the restart");
        var second = TestCompletions.Completion(id: "chatcmpl-213", content: "after the restart");
        await using var store = database.CreateStore();

        await store.SaveAsync(first, Token);
        await store.SaveAsync(second, Token);
        var all = await store.FindAsync("chatcmpl-213", Token);
        var latest = await store.GetAsync("chatcmpl-213", Token);

        Assert.Equal(2, all.Count);
        Assert.Equal(["after the restart", "before the restart"], all.Select(c => c.Choices[0].Message.Content!.Text));
        Assert.Equal("after the restart", latest!.Choices[0].Message.Content!.Text);
    }

    [Fact]
    public async Task An_empty_vendor_id_is_a_valid_id()
    {
        var completion = TestCompletions.Completion(id: "");
        await using var store = database.CreateStore();

        Assert.Equal(SaveOutcome.Stored, await store.SaveAsync(completion, Token));
        Assert.NotNull(await store.GetAsync("", Token));
    }

    [Fact]
    public async Task A_missing_completion_reads_as_null()
    {
        await using var store = database.CreateStore();

        Assert.Null(await store.GetAsync("chatcmpl-never-stored", Token));
    }

    [Fact]
    public async Task Absent_null_and_empty_members_stay_apart()
    {
        const string json = """
            {"id":"chatcmpl-presence","object":"chat.completion","created":1764000000,"model":"m","metadata":{},
             "service_tier":null,
             "choices":[
               {"index":0,"message":{"role":"assistant","content":"","refusal":null},"finish_reason":"stop","logprobs":null},
               {"index":1,"message":{"role":"assistant","tool_calls":[]},"finish_reason":""},
               {"index":2,"message":{"role":"assistant","content":null,"annotations":null,"audio":null},"finish_reason":null}
             ],
             "usage":{"prompt_tokens":0,"completion_tokens":0,"total_tokens":0,"prompt_tokens_details":{},"completion_tokens_details":null}}
            """;
        await using var store = database.CreateStore();

        await store.SaveAsync(ChatCompletionJson.Parse(json), Token);
        var stored = await store.GetAsync("chatcmpl-presence", Token);

        JsonAssert.SemanticallyEqual(json, ChatCompletionJson.Serialize(stored!));
    }

    [Fact]
    public async Task A_failure_while_writing_choices_leaves_no_completion_and_the_next_write_works()
    {
        await database.ExecuteAsync("""
            CREATE FUNCTION fail_on_boom() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              IF NEW.finish_reason = 'boom' THEN RAISE EXCEPTION 'injected failure'; END IF;
              RETURN NEW;
            END $$;
            CREATE TRIGGER fail_on_boom BEFORE INSERT ON chat_completion_choices FOR EACH ROW EXECUTE FUNCTION fail_on_boom();
            """);
        var doomed = TestCompletions.Completion(choices: 3);
        doomed.Choices[2].FinishReason = "boom";
        await using var store = database.CreateStore();

        var error = await Assert.ThrowsAsync<ChatCompletionStoreException>(() => store.SaveAsync(doomed, Token));

        Assert.IsNotType<ChatCompletionValidationException>(error);
        Assert.DoesNotContain("injected failure", error.Message, StringComparison.Ordinal);
        Assert.Equal(0, await database.ScalarAsync("SELECT count(*) FROM chat_completions WHERE id = $1", doomed.Id));
        Assert.Equal(0, await database.ScalarAsync("SELECT count(*) FROM chat_completion_choices c WHERE NOT EXISTS (SELECT 1 FROM chat_completions p WHERE p.completion_key = c.completion_key)"));
        Assert.Equal(SaveOutcome.Stored, await store.SaveAsync(TestCompletions.Completion(choices: 3), Token));
    }

    [Fact]
    public async Task Deleting_a_completion_row_deletes_its_choices()
    {
        var completion = TestCompletions.Completion(choices: 2);
        await using var store = database.CreateStore();
        await store.SaveAsync(completion, Token);

        await database.ScalarAsync("WITH d AS (DELETE FROM chat_completions WHERE id = $1 RETURNING 1) SELECT count(*) FROM d", completion.Id);

        Assert.Equal(0, await database.ScalarAsync("SELECT count(*) FROM chat_completion_choices c WHERE NOT EXISTS (SELECT 1 FROM chat_completions p WHERE p.completion_key = c.completion_key AND p.created = c.created)"));
    }

    [Fact]
    public async Task Created_is_kept_in_utc_whole_seconds()
    {
        var completion = TestCompletions.Completion();
        completion.Created = new DateTimeOffset(2026, 11, 25, 12, 0, 0, 999, TimeSpan.FromHours(2));
        await using var store = database.CreateStore();

        await store.SaveAsync(completion, Token);
        var stored = await store.GetAsync(completion.Id, Token);

        Assert.Equal(new DateTimeOffset(2026, 11, 25, 10, 0, 0, TimeSpan.Zero), stored!.Created);
        Assert.Equal(TimeSpan.Zero, stored.Created.Offset);
    }
}

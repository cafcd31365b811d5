using System.Text.Json;

namespace Storage.Tests;

/// <summary>The call beside a completion (request, timings, trace) and the listing of its request's messages.</summary>
public sealed class CallTests(MigratedDatabase database) : IClassFixture<MigratedDatabase>
{
    private const string Request = """
        {"model":"gpt-4o-mini","store":true,"temperature":0.2,"metadata":{"feature":"weather"},
         "tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object"}}}],
         "messages":[
           {"role":"system","content":"Be brief."},
           {"role":"user","content":"What's the weather like today? Use the weather tool.","name":"ada"},
           {"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{}"}}]},
           {"role":"tool","tool_call_id":"call_1","content":"Sunny, 21 °C"},
           {"role":"user","content":[{"type":"text","text":"Whose logo is this?: "},{"type":"image_url","image_url":{"url":"https://example.com/logo.png"}}]}
         ]}
        """;

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public static TheoryData<string> Paths => ["single", "bulk", "writer"];

    [Theory]
    [MemberData(nameof(Paths))]
    public async Task The_call_is_stored_beside_the_completion_and_read_back_whole(string path)
    {
        await using var store = database.CreateStore();
        var completion = WithCall(TestCompletions.Completion(model: $"model-{Guid.NewGuid():N}"));
        var call = completion.Call!;

        await SaveAsync(store, completion, path);
        var read = (await store.GetAsync(completion.Id, Token))!;

        Assert.NotNull(read.Call);
        Assert.Equal(call.StartedAt, read.Call.StartedAt);
        Assert.Equal(call.Latency, read.Call.Latency);
        Assert.Equal(call.TimeToFirstToken, read.Call.TimeToFirstToken);
        Assert.Equal(call.TraceId, read.Call.TraceId);
        Assert.Equal(call.SpanId, read.Call.SpanId);
        Assert.Null(JsonAssert.FirstDifferenceOf(Request, read.Call.Request!.Value.GetRawText()));
        // The call is not wire JSON.
        Assert.DoesNotContain("call", ChatCompletionJson.Serialize(read), StringComparison.Ordinal);
        var listed = await store.ListAsync(new ChatCompletionFilter { Model = completion.Model }, cancellationToken: Token);
        Assert.Equal(call.TraceId, Assert.Single(listed.Items).Call?.TraceId);
    }

    [Fact]
    public async Task A_completion_without_a_call_reads_back_without_one_and_has_no_messages()
    {
        await using var store = database.CreateStore();
        var completion = TestCompletions.Completion();
        await store.SaveAsync(completion, Token);

        Assert.Null((await store.GetAsync(completion.Id, Token))!.Call);
        var page = await store.ListMessagesAsync(completion.Id, cancellationToken: Token);
        Assert.Empty(page.Items);
        Assert.False(page.HasMore);
        Assert.Null(page.FirstId);
        Assert.Null(page.LastId);
    }

    [Fact]
    public async Task A_replay_with_another_call_is_already_stored_and_keeps_the_first_call()
    {
        await using var store = database.CreateStore();
        var json = ChatCompletionJson.Serialize(TestCompletions.Completion());
        var first = WithCall(ChatCompletionJson.Parse(json));
        var replay = WithCall(ChatCompletionJson.Parse(json));
        replay.Call!.TraceId = "ffffffffffffffffffffffffffffffff";

        Assert.Equal(SaveOutcome.Stored, await store.SaveAsync(first, Token));
        Assert.Equal(SaveOutcome.AlreadyStored, await store.SaveAsync(replay, Token));
        Assert.Equal(SaveOutcome.AlreadyStored, await store.SaveAsync(ChatCompletionJson.Parse(json), Token));

        Assert.Equal(first.Call!.TraceId, (await store.GetAsync(first.Id, Token))!.Call!.TraceId);
    }

    [Fact]
    public async Task Unstorable_text_in_the_request_is_rejected_by_name_and_nothing_is_stored()
    {
        await using var store = database.CreateStore();
        var completion = WithCall(TestCompletions.Completion());
        completion.Call!.Request = JsonElement.Parse("""{"messages":[{"role":"user","content":"a\u0000b"}]}""");

        var rejected = await Assert.ThrowsAsync<ChatCompletionValidationException>(() => store.SaveAsync(completion, Token));

        Assert.Equal("call.request.messages[0].content", rejected.Field);
        Assert.Equal(ChatCompletionValidationRule.NulCharacter, rejected.Rule);
        Assert.Null(await store.GetAsync(completion.Id, Token));
    }

    [Fact]
    public async Task A_member_name_twice_in_one_object_of_the_request_is_rejected_by_name()
    {
        await using var store = database.CreateStore();
        var completion = WithCall(TestCompletions.Completion());
        // jsonb would keep only the last "role", so the request would not read back as it was given.
        completion.Call!.Request = JsonElement.Parse("""{"messages":[{"role":"user","role":"system","content":"hi"}]}""");

        var rejected = await Assert.ThrowsAsync<ChatCompletionValidationException>(() => store.SaveAsync(completion, Token));

        Assert.Equal("call.request.messages[0].role", rejected.Field);
        Assert.Equal(ChatCompletionValidationRule.MalformedJson, rejected.Rule);
        Assert.Null(await store.GetAsync(completion.Id, Token));
    }

    [Fact]
    public void Timings_keep_microseconds_and_refuse_negative_durations()
    {
        var call = new ChatCompletionCall { StartedAt = new DateTimeOffset(2025, 1, 2, 3, 4, 5, TimeSpan.FromHours(2)).AddTicks(1_234_567) };

        call.Latency = TimeSpan.FromTicks(12_345_678);

        Assert.Equal(TimeSpan.Zero, call.StartedAt.Offset);
        Assert.Equal(1_234_560, call.StartedAt.UtcTicks % TimeSpan.TicksPerSecond);
        Assert.Equal(TimeSpan.FromTicks(12_345_670), call.Latency);
        Assert.Throws<ArgumentOutOfRangeException>(() => call.TimeToFirstToken = TimeSpan.FromSeconds(-1));
    }

    [Fact]
    public async Task Messages_are_listed_in_openais_shape_and_paged_by_id_in_both_orders()
    {
        await using var store = database.CreateStore();
        var completion = WithCall(TestCompletions.Completion());
        await store.SaveAsync(completion, Token);
        var id = completion.Id;

        var first = await store.ListMessagesAsync(id, limit: 2, cancellationToken: Token);
        var second = await store.ListMessagesAsync(id, after: first.LastId, limit: 2, cancellationToken: Token);
        var last = await store.ListMessagesAsync(id, after: second.LastId, limit: 2, cancellationToken: Token);
        var beyond = await store.ListMessagesAsync(id, after: last.LastId, limit: 2, cancellationToken: Token);
        var descending = await store.ListMessagesAsync(id, limit: 100, order: ChatCompletionOrder.Descending, cancellationToken: Token);

        Assert.Equal([$"{id}-0", $"{id}-1"], first.Items.Select(IdOf));
        Assert.True(first.HasMore);
        Assert.Equal([$"{id}-2", $"{id}-3"], second.Items.Select(IdOf));
        Assert.Equal([$"{id}-4"], last.Items.Select(IdOf));
        Assert.False(last.HasMore);
        Assert.Empty(beyond.Items);
        Assert.Null(beyond.FirstId);
        Assert.Equal([4, 3, 2, 1, 0], descending.Items.Select(m => int.Parse(IdOf(m)[(id.Length + 1)..], System.Globalization.CultureInfo.InvariantCulture)));

        Assert.Null(JsonAssert.FirstDifferenceOf(
            $$"""{"id":"{{id}}-1","role":"user","content":"What's the weather like today? Use the weather tool.","content_parts":null,"name":"ada"}""",
            first.Items[1].GetRawText()));
        Assert.Null(JsonAssert.FirstDifferenceOf(
            $$$"""{"id":"{{{id}}}-2","role":"assistant","content":null,"content_parts":null,"name":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{}"}}]}""",
            second.Items[0].GetRawText()));
        Assert.Null(JsonAssert.FirstDifferenceOf(
            $$$"""{"id":"{{{id}}}-4","role":"user","content":"Whose logo is this?: ","name":null,"content_parts":[{"type":"text","text":"Whose logo is this?: "},{"type":"image_url","image_url":{"url":"https://example.com/logo.png"}}]}""",
            last.Items[0].GetRawText()));
    }

    [Theory]
    [InlineData("nope")]
    [InlineData("{id}-5")]
    [InlineData("{id}-x")]
    [InlineData("{id}--1")]
    public async Task Messages_after_an_unknown_message_id_are_not_found(string after)
    {
        await using var store = database.CreateStore();
        var completion = WithCall(TestCompletions.Completion());
        await store.SaveAsync(completion, Token);

        var missing = await Assert.ThrowsAsync<ChatCompletionNotFoundException>(() =>
            store.ListMessagesAsync(completion.Id, after: after.Replace("{id}", completion.Id, StringComparison.Ordinal), cancellationToken: Token));

        Assert.Equal("after", missing.ParameterName);
        await Assert.ThrowsAsync<ChatCompletionNotFoundException>(() => store.ListMessagesAsync("chatcmpl-none", cancellationToken: Token));
    }

    private static string IdOf(JsonElement message) => message.GetProperty("id").GetString()!;

    private static ChatCompletion WithCall(ChatCompletion completion)
    {
        completion.Call = new ChatCompletionCall
        {
            StartedAt = new DateTimeOffset(2025, 6, 1, 12, 0, 0, TimeSpan.Zero).AddTicks(1_234_560),
            Request = JsonElement.Parse(Request),
            Latency = TimeSpan.FromMilliseconds(1234.567),
            TimeToFirstToken = TimeSpan.FromMilliseconds(87.5),
            TraceId = "4bf92f3577b34da6a3ce929d0e0e4736",
            SpanId = "00f067aa0ba902b7",
        };
        return completion;
    }

    private static async Task SaveAsync(ChatCompletionStore store, ChatCompletion completion, string path)
    {
        switch (path)
        {
            case "single":
                Assert.Equal(SaveOutcome.Stored, await store.SaveAsync(completion, Token));
                break;
            case "bulk":
                Assert.Equal(SaveOutcome.Stored, (await store.SaveManyAsync([completion], Token).SingleAsync(Token)).Outcome);
                break;
            default:
                await using (var writer = new ChatCompletionWriter(store))
                {
                    Assert.Equal(SaveOutcome.Stored, await writer.SaveAsync(completion, Token));
                }

                break;
        }
    }
}

using System.ClientModel;
using System.Net;
using System.Text.Json;
using OpenAI.Chat;

namespace Storage.Api.Tests;

/// <summary>What the proxy records beside a completion: the request, whose messages the messages endpoint lists, and the call's timings and trace.</summary>
public sealed class MessagesAndCallTests(ApiFixture api) : IClassFixture<ApiFixture>
{
    private static readonly ChatMessage[] Conversation =
    [
        new SystemChatMessage("You answer in one line."),
        new UserChatMessage("Where is my order?"),
        new AssistantChatMessage("Which order number?"),
        new UserChatMessage("4521"),
    ];

    [Fact]
    public async Task The_messages_of_a_recorded_request_page_to_the_end_in_both_orders()
    {
        var token = TestContext.Current.CancellationToken;
        var id = await RecordAsync();
        var client = api.Client();

        var ascending = new List<ChatCompletionMessageListDatum>();
        await foreach (var message in client.GetChatCompletionMessagesAsync(id, new ChatCompletionMessageCollectionOptions { PageSizeLimit = 3 }, token))
        {
            ascending.Add(message);
        }

        var descending = new List<string>();
        var newestFirst = new ChatCompletionMessageCollectionOptions { PageSizeLimit = 3, Order = ChatCompletionMessageCollectionOrder.Descending };
        await foreach (var message in client.GetChatCompletionMessagesAsync(id, newestFirst, token))
        {
            descending.Add(message.Id);
        }

        Assert.Equal([$"{id}-0", $"{id}-1", $"{id}-2", $"{id}-3"], ascending.Select(message => message.Id));
        Assert.Equal(["You answer in one line.", "Where is my order?", "Which order number?", "4521"], ascending.Select(message => message.Content));
        Assert.Equal([$"{id}-3", $"{id}-2", $"{id}-1", $"{id}-0"], descending);
    }

    [Fact]
    public async Task A_messages_page_has_OpenAIs_envelope()
    {
        var token = TestContext.Current.CancellationToken;
        var id = await RecordAsync();
        using var http = api.Http();

        var page = JsonDocument.Parse(await http.GetStringAsync($"/v1/chat/completions/{id}/messages?limit=2", token)).RootElement;

        Assert.Equal("list", page.GetProperty("object").GetString());
        Assert.Equal($"{id}-0", page.GetProperty("first_id").GetString());
        Assert.Equal($"{id}-1", page.GetProperty("last_id").GetString());
        Assert.True(page.GetProperty("has_more").GetBoolean());
        Assert.Equal("system", page.GetProperty("data")[0].GetProperty("role").GetString());
    }

    [Fact]
    public async Task A_completion_stored_without_its_request_has_an_empty_messages_page_with_null_ids()
    {
        var token = TestContext.Current.CancellationToken;
        var run = TestCompletions.Unique();
        await api.ImportAsync(ApiFixture.DefaultKey, [TestCompletions.Make($"chatcmpl-{run}", $"model-{run}")]);
        using var http = api.Http();

        var page = await http.GetStringAsync($"/v1/chat/completions/chatcmpl-{run}/messages", token);

        JsonAssert.SemanticallyEqual("""{"object":"list","data":[],"first_id":null,"last_id":null,"has_more":false}""", page);
    }

    [Fact]
    public async Task The_messages_of_an_unknown_completion_are_a_404()
    {
        var token = TestContext.Current.CancellationToken;

        var error = await Assert.ThrowsAsync<ClientResultException>(async () =>
        {
            await foreach (var message in api.Client().GetChatCompletionMessagesAsync("chatcmpl-nowhere", cancellationToken: token))
            {
                Assert.Fail($"listed {message.Id}");
            }
        });

        Assert.Equal(404, error.Status);
    }

    [Fact]
    public async Task The_call_is_stored_with_the_request_as_sent_its_latency_and_the_trace_sent_upstream()
    {
        var token = TestContext.Current.CancellationToken;
        var before = DateTimeOffset.UtcNow.AddSeconds(-1);
        var id = await RecordAsync();
        var sent = api.Upstream.LastBody!;
        var traceparent = api.Upstream.LastTraceparent;
        await using var store = new ChatCompletionStore(api.ConnectionString);

        var call = (await store.GetAsync(id, token))!.Call;

        Assert.NotNull(call);
        JsonAssert.SemanticallyEqual(sent, call.Request!.Value.GetRawText());
        Assert.InRange(call.StartedAt, before, DateTimeOffset.UtcNow);
        Assert.NotNull(call.Latency);
        Assert.Null(call.TimeToFirstToken);
        Assert.Matches("^[0-9a-f]{32}$", call.TraceId);
        Assert.Matches("^[0-9a-f]{16}$", call.SpanId);
        Assert.Contains(call.TraceId!, traceparent, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_streamed_call_records_its_time_to_first_token_within_its_latency()
    {
        var token = TestContext.Current.CancellationToken;
        var run = TestCompletions.Unique();
        api.Upstream.Completion = TestCompletions.Make($"chatcmpl-{run}", $"model-{run}");
        await foreach (var update in api.Client().CompleteChatStreamingAsync(Conversation, new ChatCompletionOptions { StoredOutputEnabled = true }, token))
        {
            Assert.NotNull(update);
        }

        await using var store = new ChatCompletionStore(api.ConnectionString);
        var call = (await store.GetAsync($"chatcmpl-{run}", token))!.Call;

        Assert.NotNull(call);
        Assert.NotNull(call.TimeToFirstToken);
        Assert.NotNull(call.Latency);
        Assert.InRange(call.TimeToFirstToken.Value, TimeSpan.Zero, call.Latency.Value);
        Assert.True(call.Request!.Value.GetProperty("stream").GetBoolean());
    }

    /// <summary>Sends the conversation through the proxy with <c>store: true</c>; returns the stored completion's id.</summary>
    private async Task<string> RecordAsync()
    {
        var run = TestCompletions.Unique();
        api.Upstream.Completion = TestCompletions.Make($"chatcmpl-{run}", $"model-{run}");
        await api.Client().CompleteChatAsync(Conversation, new ChatCompletionOptions { StoredOutputEnabled = true }, TestContext.Current.CancellationToken);
        return $"chatcmpl-{run}";
    }
}

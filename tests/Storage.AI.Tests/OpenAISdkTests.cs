using OpenAI.Chat;

namespace Storage.AI.Tests;

public sealed class OpenAISdkTests(MigratedDatabase database) : IClassFixture<MigratedDatabase>, IAsyncLifetime
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private FakeOpenAIServer _vendor = null!;

    public async ValueTask InitializeAsync() => _vendor = await FakeOpenAIServer.StartAsync(Token);

    public async ValueTask DisposeAsync() => await _vendor.DisposeAsync();

    public static TheoryData<string> Files() => Recording.OpenAIReadableFixtures();

    [Theory]
    [MemberData(nameof(Files))]
    public async Task A_completion_saved_from_the_sdk_result_is_the_vendor_json(string file)
    {
        _vendor.Completion = Recording.Fixture(file);
        await using var store = database.CreateStore();
        var client = Recording.OpenAIClient(_vendor, capture: false);

        var result = await client.CompleteChatAsync([new UserChatMessage("Hello")], cancellationToken: Token);
        var completion = result.ToStoredCompletion();
        await store.SaveAsync(completion, Token);

        JsonAssert.SemanticallyEqual(_vendor.Completion, ChatCompletionJson.Serialize((await store.GetAsync(result.Value.Id, Token))!));
    }

    [Fact]
    public async Task A_completion_object_of_the_sdk_is_saved_through_its_own_json()
    {
        _vendor.Completion = Recording.Fixture("openai-parallel-tool-calls.json");
        await using var store = database.CreateStore();
        var client = Recording.OpenAIClient(_vendor, capture: false);

        OpenAI.Chat.ChatCompletion completion = await client.CompleteChatAsync([new UserChatMessage("Weather?")], cancellationToken: Token);
        await store.SaveAsync(completion.ToStoredCompletion(), Token);

        JsonAssert.SemanticallyEqual(_vendor.Completion, ChatCompletionJson.Serialize((await store.GetAsync(completion.Id, Token))!));
    }

    [Fact]
    public async Task A_stream_of_sdk_updates_is_assembled_and_saved()
    {
        _vendor.Completion = Recording.Fixture("openai-parallel-tool-calls.json");
        await using var store = database.CreateStore();
        var client = Recording.OpenAIClient(_vendor, capture: false);

        var assembler = new ChatCompletionChunkAssembler();
        await foreach (var update in client.CompleteChatStreamingAsync([new UserChatMessage("Weather?")], cancellationToken: Token))
        {
            assembler.Add(update);
        }

        var completion = assembler.ToCompletion();
        await store.SaveAsync(completion, Token);

        var stored = (await store.GetAsync(completion.Id, Token))!;
        var expected = ChatCompletionJson.Parse(_vendor.Completion);
        Assert.Equal(
            expected.Choices[0].Message.ToolCalls!.Select(c => (c.Id, c.Function!.Name, c.Function.Arguments)),
            stored.Choices[0].Message.ToolCalls!.Select(c => (c.Id, c.Function!.Name, c.Function.Arguments)));
        Assert.Equal((expected.Model, expected.Usage!.TotalTokens, "tool_calls"), (stored.Model, stored.Usage!.TotalTokens, stored.Choices[0].FinishReason));
    }
}

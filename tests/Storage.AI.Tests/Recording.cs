using System.ClientModel;
using System.Text.Json.Nodes;
using Microsoft.Extensions.AI;
using OpenAI;
using OpenAI.Chat;

namespace Storage.AI.Tests;

/// <summary>Shared pieces of the recording tests: real OpenAI clients pointed at the fake vendor, and the expected JSON.</summary>
internal static class Recording
{
    /// <summary>The shared fixtures the OpenAI SDK itself can read (it rejects Mistral's "thinking" parts and Snowflake's empty finish reason).</summary>
    public static TheoryData<string> OpenAIReadableFixtures()
    {
        var data = new TheoryData<string>();
        foreach (var file in Fixtures.SharedCompletionFiles.Where(f => !Path.GetFileName(f).StartsWith("mistral-magistral", StringComparison.Ordinal)
            && !Path.GetFileName(f).StartsWith("snowflake", StringComparison.Ordinal)))
        {
            data.Add(Path.GetFileName(file));
        }

        return data;
    }

    /// <summary>A shared fixture body under an id of its own, so that tests sharing a database never read each other's completions.</summary>
    public static string Fixture(string name)
    {
        var body = JsonNode.Parse(Fixtures.Read(Path.Combine(Fixtures.SharedCompletionsDirectory!, name)))!.AsObject();
        body["id"] = $"{(string?)body["id"]}-{Guid.NewGuid():N}";
        return body.ToJsonString();
    }

    public static ChatClient OpenAIClient(FakeOpenAIServer vendor, bool capture = true)
    {
        var options = new OpenAIClientOptions { Endpoint = vendor.BaseUrl };
        if (capture)
        {
            options.AddChatCompletionCapture();
        }

        return new ChatClient("gpt-4o", new ApiKeyCredential("sk-test"), options);
    }

    public static IChatClient Recorded(IChatClient inner, ChatCompletionStore store, ChatCompletionWriter writer, Action<ChatCompletionRecorderOptions>? configure = null) =>
        inner.AsBuilder().UseChatCompletionStore(configure, store, writer).Build();

    /// <summary>The fixture as a stream assembles back: a tool call's index is stream bookkeeping and is not kept.</summary>
    public static string WithoutToolCallIndexes(string json)
    {
        var expected = JsonNode.Parse(json)!.AsObject();
        foreach (var call in expected["choices"]!.AsArray().Select(c => c!["message"]?["tool_calls"]).OfType<JsonArray>().SelectMany(calls => calls))
        {
            call!.AsObject().Remove("index");
        }

        return expected.ToJsonString();
    }

    public static ChatCompletionWriter Writer(ChatCompletionStore store) =>
        new(store, new ChatCompletionWriterOptions { FlushInterval = TimeSpan.FromMilliseconds(20) });
}

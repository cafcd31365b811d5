using System.ClientModel;
using System.Net;
using System.Text;
using System.Text.Json;
using OpenAI.Chat;

namespace Storage.Api.Tests;

/// <summary>
/// <c>POST /v1/chat/completions</c> as a recording proxy, used through the SDK's CompleteChat and CompleteChatStreaming,
/// with a fake upstream on loopback replaying fixture completions.
/// </summary>
public sealed class ProxyTests(ApiFixture api) : IClassFixture<ApiFixture>
{
    /// <summary>Fixtures the recording proxy replays: the shared ones of several vendors when present, and the samples.</summary>
    public static TheoryData<string> ReplayFiles()
    {
        string[] shared = ["openai-hello-basic.json", "openai-parallel-tool-calls.json", "deepseek-reasoner-reasoning-content.json", "groq-compound-executed-tools.json"];
        var files = new TheoryData<string>();
        foreach (var name in shared)
        {
            if (Fixtures.SharedCompletionsDirectory is { } directory && File.Exists(Path.Combine(directory, name)))
            {
                files.Add(Path.Combine(directory, name));
            }
        }

        files.Add(Path.Combine(Fixtures.SamplesDirectory, "01-support-answer.json"));
        files.Add(Path.Combine(Fixtures.SamplesDirectory, "02-weather-tool-call.json"));
        return files;
    }

    [Theory]
    [MemberData(nameof(ReplayFiles))]
    public async Task A_stored_call_returns_the_upstream_answer_unchanged_and_stores_it(string file)
    {
        var token = TestContext.Current.CancellationToken;
        var fixture = Fixtures.Read(file);
        api.Upstream.Completion = fixture;
        var id = JsonDocument.Parse(fixture).RootElement.GetProperty("id").GetString()!;

        var answer = (await api.Client().CompleteChatAsync(
            [new UserChatMessage("Hello")], new ChatCompletionOptions { StoredOutputEnabled = true }, token)).Value;
        using var http = api.Http();
        var stored = await http.GetStringAsync($"/v1/chat/completions/{Uri.EscapeDataString(id)}", token);

        Assert.Equal(id, answer.Id);
        JsonAssert.SemanticallyEqual(fixture, stored);
    }

    [Fact]
    public async Task The_body_is_forwarded_as_sent_with_the_upstream_key_and_never_the_callers()
    {
        var token = TestContext.Current.CancellationToken;
        api.Upstream.Completion = TestCompletions.Sample;
        const string body = """{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Hi"}],  "temperature":0.25,"vendor_extension":{"x":1}}""";
        using var http = api.Http();
        using var content = new StringContent(body, Encoding.UTF8, "application/json");

        using var response = await http.PostAsync("/v1/chat/completions", content, token);
        var relayed = await response.Content.ReadAsStringAsync(token);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(body, api.Upstream.LastBody);
        Assert.Equal($"Bearer {ApiFixture.UpstreamKey}", api.Upstream.LastAuthorization);
        Assert.Equal(TestCompletions.Sample, relayed);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Without_store_true_nothing_is_stored()
    {
        var token = TestContext.Current.CancellationToken;
        var run = TestCompletions.Unique();
        api.Upstream.Completion = TestCompletions.Make($"chatcmpl-{run}", $"model-{run}");

        var answer = (await api.Client().CompleteChatAsync([new UserChatMessage("Hello")], new ChatCompletionOptions(), token)).Value;
        var error = await Assert.ThrowsAsync<ClientResultException>(() => api.Client().GetChatCompletionAsync($"chatcmpl-{run}", token));

        Assert.Equal($"chatcmpl-{run}", answer.Id);
        Assert.Equal(404, error.Status);
    }

    [Fact]
    public async Task The_request_metadata_is_stored_when_the_response_has_none()
    {
        var token = TestContext.Current.CancellationToken;
        var run = TestCompletions.Unique();
        api.Upstream.Completion = TestCompletions.Make($"chatcmpl-{run}", $"model-{run}");
        var options = new ChatCompletionOptions { StoredOutputEnabled = true, Metadata = { ["run"] = run, ["team"] = "search" } };

        await api.Client().CompleteChatAsync([new UserChatMessage("Hello")], options, token);
        var found = new List<string>();
        await foreach (var completion in api.Client().GetChatCompletionsAsync(new ChatCompletionCollectionOptions { Metadata = { ["run"] = run } }, token))
        {
            found.Add(completion.Id);
        }

        Assert.Equal([$"chatcmpl-{run}"], found);
    }

    [Fact]
    public async Task A_recorded_completion_is_stored_with_its_cost()
    {
        var token = TestContext.Current.CancellationToken;
        var run = TestCompletions.Unique();
        api.Upstream.Completion = TestCompletions.Make($"chatcmpl-{run}", "gpt-4o-mini-2024-07-18");

        await api.Client().CompleteChatAsync([new UserChatMessage("Hello")], new ChatCompletionOptions { StoredOutputEnabled = true }, token);

        // The default table: 48 prompt tokens × 0.00000015 + 15 completion tokens × 0.0000006.
        await using var store = new ChatCompletionStore(api.ConnectionString);
        var stored = await store.GetWithVersionAsync($"chatcmpl-{run}", token);
        Assert.Equal(new ChatCompletionCost(0.0000162m, ChatCompletionCostSource.Prices, Clamped: false), stored!.Cost);
    }

    [Fact]
    public async Task A_stream_is_relayed_event_by_event_unchanged_and_the_assembled_completion_is_stored()
    {
        var token = TestContext.Current.CancellationToken;
        var run = TestCompletions.Unique();
        var fixture = TestCompletions.Make($"chatcmpl-{run}", $"model-{run}");
        api.Upstream.Completion = fixture;
        var options = new ChatCompletionOptions { StoredOutputEnabled = true, Metadata = { ["run"] = run } };

        var text = new StringBuilder();
        var updates = 0;
        await foreach (var update in api.Client().CompleteChatStreamingAsync([new UserChatMessage("Hello")], options, token))
        {
            updates++;
            foreach (var part in update.ContentUpdate)
            {
                text.Append(part.Text);
            }
        }

        var stored = (await api.Client().GetChatCompletionAsync($"chatcmpl-{run}", token)).Value;

        Assert.True(updates > 3, $"{updates} updates");
        Assert.Equal(TestCompletions.Content(fixture), text.ToString());
        Assert.Equal(TestCompletions.Content(fixture), stored.Content[0].Text);
        Assert.Equal($"model-{run}", stored.Model);
        Assert.Equal(ChatFinishReason.Stop, stored.FinishReason);
        Assert.Equal(63, stored.Usage.TotalTokenCount);
    }

    [Fact]
    public async Task The_relayed_stream_is_byte_for_byte_what_the_upstream_sent()
    {
        var token = TestContext.Current.CancellationToken;
        var run = TestCompletions.Unique();
        api.Upstream.Completion = TestCompletions.Make($"chatcmpl-{run}", $"model-{run}");
        using var http = api.Http();
        using var content = new StringContent("""{"model":"m","messages":[{"role":"user","content":"Hi"}],"stream":true}""", Encoding.UTF8, "application/json");

        using var response = await http.PostAsync("/v1/chat/completions", content, token);
        var relayed = await response.Content.ReadAsStringAsync(token);

        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(api.Upstream.LastStream, relayed);
    }

    [Fact]
    public async Task An_upstream_error_is_relayed_with_its_status_and_nothing_is_stored()
    {
        var token = TestContext.Current.CancellationToken;
        var run = TestCompletions.Unique();
        api.Upstream.Completion = TestCompletions.Make($"chatcmpl-{run}", $"model-{run}");
        api.Upstream.FailWith = 400;
        try
        {
            var error = await Assert.ThrowsAsync<ClientResultException>(() => api.Client().CompleteChatAsync(
                [new UserChatMessage("Hello")], new ChatCompletionOptions { StoredOutputEnabled = true }, token));

            Assert.Equal(400, error.Status);
            Assert.Contains("upstream says no", error.Message, StringComparison.Ordinal);
        }
        finally
        {
            api.Upstream.FailWith = null;
        }

        var missing = await Assert.ThrowsAsync<ClientResultException>(() => api.Client().GetChatCompletionAsync($"chatcmpl-{run}", token));
        Assert.Equal(404, missing.Status);
    }
}

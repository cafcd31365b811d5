using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.AI;

namespace Storage.AI.Tests;

public sealed class RecordingChatClientTests(MigratedDatabase database) : IClassFixture<MigratedDatabase>, IAsyncLifetime
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private FakeOpenAIServer _vendor = null!;

    public async ValueTask InitializeAsync() => _vendor = await FakeOpenAIServer.StartAsync(Token);

    public async ValueTask DisposeAsync() => await _vendor.DisposeAsync();

    public static TheoryData<string> Files() => Recording.OpenAIReadableFixtures();

    [Fact]
    public async Task A_recorded_call_is_stored_with_its_cost()
    {
        var id = "chatcmpl-cost-" + TestCompletions.Unique();
        _vendor.Completion = TestCompletions.Make(id, "gpt-4o-mini-2024-07-18");
        await using var store = database.CreateStore();
        var writer = Recording.Writer(store);
        using var client = Recording.Recorded(Recording.OpenAIClient(_vendor).AsIChatClient(), store, writer);

        await client.GetResponseAsync("Hello", new ChatOptions { AdditionalProperties = new() { ["store"] = true } }, Token);
        await writer.DisposeAsync();

        // The default table: 48 prompt tokens × 0.00000015 + 15 completion tokens × 0.0000006.
        Assert.Equal(0.0000162m, (await store.GetWithVersionAsync(id, Token))!.Cost!.Usd);
    }

    [Theory]
    [MemberData(nameof(Files))]
    public async Task A_plain_call_through_openai_is_stored_as_the_vendor_sent_it_with_its_request_and_timings(string file)
    {
        _vendor.Completion = Recording.Fixture(file);
        await using var store = database.CreateStore();
        var writer = Recording.Writer(store);
        using var client = Recording.Recorded(Recording.OpenAIClient(_vendor).AsIChatClient(), store, writer);

        var response = await client.GetResponseAsync(
            [new(ChatRole.System, "Be brief."), new(ChatRole.User, "Hello")],
            new ChatOptions { Temperature = 0.25f, AdditionalProperties = new() { ["store"] = true } },
            Token);
        await writer.DisposeAsync();

        var stored = await store.GetAsync(response.ResponseId!, Token);
        Assert.NotNull(stored);
        JsonAssert.SemanticallyEqual(_vendor.Completion, ChatCompletionJson.Serialize(stored));
        var call = stored.Call!;
        var request = call.Request!.Value;
        Assert.Equal(["system", "user"], request.GetProperty("messages").EnumerateArray().Select(m => m.GetProperty("role").GetString()));
        Assert.Equal("Hello", request.GetProperty("messages")[1].GetProperty("content").GetString());
        Assert.Equal((0.25, true), (request.GetProperty("temperature").GetDouble(), request.GetProperty("store").GetBoolean()));
        Assert.True(call.Latency > TimeSpan.Zero);
        Assert.Null(call.TimeToFirstToken);
    }

    [Theory]
    [MemberData(nameof(Files))]
    public async Task A_stream_through_openai_is_stored_as_the_completion_its_chunks_make(string file)
    {
        _vendor.Completion = Recording.Fixture(file);
        await using var store = database.CreateStore();
        var writer = Recording.Writer(store);
        using var client = Recording.Recorded(Recording.OpenAIClient(_vendor).AsIChatClient(), store, writer);

        var updates = new List<ChatResponseUpdate>();
        await foreach (var update in client.GetStreamingResponseAsync([new(ChatRole.User, "Hello")], cancellationToken: Token))
        {
            updates.Add(update);
        }

        await writer.DisposeAsync();

        var stored = await store.GetAsync(updates.First(u => u.ResponseId is not null).ResponseId!, Token);
        Assert.NotNull(stored);
        JsonAssert.SemanticallyEqual(Recording.WithoutToolCallIndexes(_vendor.Completion), ChatCompletionJson.Serialize(stored));
        Assert.True(stored.Call!.Request!.Value.GetProperty("stream").GetBoolean());
        Assert.NotNull(stored.Call.Latency);
        Assert.True(stored.Call.TimeToFirstToken <= stored.Call.Latency);
    }

    [Fact]
    public async Task Without_the_capture_policy_the_sdk_response_object_is_stored()
    {
        _vendor.Completion = Recording.Fixture("openai-hello-basic.json");
        await using var store = database.CreateStore();
        var writer = Recording.Writer(store);
        using var client = Recording.Recorded(Recording.OpenAIClient(_vendor, capture: false).AsIChatClient(), store, writer);

        var response = await client.GetResponseAsync("Hello", cancellationToken: Token);
        await writer.DisposeAsync();

        // This body holds nothing the SDK does not model, so even its round trip is exact.
        JsonAssert.SemanticallyEqual(_vendor.Completion, ChatCompletionJson.Serialize((await store.GetAsync(response.ResponseId!, Token))!));
    }

    [Fact]
    public async Task A_stream_the_caller_abandons_half_way_is_recorded_as_far_as_it_went()
    {
        _vendor.Completion = Recording.Fixture("openai-hello-basic.json");
        _vendor.StallAfterChunks = 3; // the head, the role and the first third of the text
        await using var store = database.CreateStore();
        var writer = Recording.Writer(store);
        using var client = Recording.Recorded(Recording.OpenAIClient(_vendor).AsIChatClient(), store, writer);

        string? id = null;
        var text = "";
        await foreach (var update in client.GetStreamingResponseAsync("Hello", cancellationToken: Token))
        {
            id ??= update.ResponseId;
            text += update.Text;
            if (text.Length > 0)
            {
                break;
            }
        }

        await _vendor.ClientLeft.Task.WaitAsync(Token);
        await writer.DisposeAsync();

        var stored = await store.GetAsync(id!, Token);
        Assert.NotNull(stored);
        var content = stored.Choices.Single().Message.Content!.Text!;
        var full = JsonDocument.Parse(_vendor.Completion).RootElement.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString()!;
        Assert.Equal(text, content);
        Assert.True(content.Length < full.Length && full.StartsWith(content, StringComparison.Ordinal));
        Assert.Null(stored.Choices[0].FinishReason);
        Assert.Null(stored.Usage);
    }

    [Fact]
    public async Task A_storage_outage_leaves_the_call_untouched_and_is_counted()
    {
        long failed = 0;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == StorageTelemetry.MeterName && instrument.Name == "storage.recorder.failed")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref failed, value));
        listener.Start();
        _vendor.Completion = Recording.Fixture("openai-hello-basic.json");

        // A server that is not there: every write fails at once, as in an outage.
        await using var store = new ChatCompletionStore("Host=127.0.0.1;Port=1;Database=none;Username=none;Timeout=2");
        var writer = new ChatCompletionWriter(store, new ChatCompletionWriterOptions { FlushInterval = TimeSpan.FromMilliseconds(10), MaxFlushAttempts = 1 });
        using var client = Recording.Recorded(Recording.OpenAIClient(_vendor).AsIChatClient(), store, writer);

        var response = await client.GetResponseAsync("Hello", cancellationToken: Token);
        var streamed = "";
        await foreach (var update in client.GetStreamingResponseAsync("Hello", cancellationToken: Token))
        {
            streamed += update.Text;
        }

        await writer.DisposeAsync();

        // The failures are counted in the background, once the writer gave up; a deadline keeps a broken counter from hanging the run.
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(Token);
        deadline.CancelAfter(TimeSpan.FromMinutes(1));
        while (Interlocked.Read(ref failed) < 2 && !deadline.IsCancellationRequested)
        {
            await Task.Delay(10, Token);
        }

        var expected = JsonDocument.Parse(_vendor.Completion).RootElement.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString();
        Assert.Equal((expected, expected), (response.Text, streamed));
        Assert.True(Interlocked.Read(ref failed) >= 2);
    }

    [Fact]
    public async Task Metadata_comes_from_the_ambient_scope_and_the_request_and_the_trace_from_the_current_activity()
    {
        _vendor.Completion = Recording.Fixture("openai-hello-basic.json");
        await using var store = database.CreateStore();
        var writer = Recording.Writer(store);
        using var client = Recording.Recorded(Recording.OpenAIClient(_vendor).AsIChatClient(), store, writer);
        using var source = new ActivitySource("Storage.AI.Tests");
        using var listener = new ActivityListener { ShouldListenTo = s => s == source, Sample = (ref _) => ActivitySamplingResult.AllDataAndRecorded };
        ActivitySource.AddActivityListener(listener);

        ChatResponse response;
        using (var activity = source.StartActivity("request"))
        using (ChatCompletionScope.Begin(metadata: new Dictionary<string, string> { ["user"] = "u-1", ["feature"] = "outer" }))
        using (ChatCompletionScope.Begin(metadata: new Dictionary<string, string> { ["feature"] = "summary" }))
        {
            response = await client.GetResponseAsync("Hello", new ChatOptions { AdditionalProperties = new() { ["metadata"] = new Dictionary<string, string> { ["run"] = "r-9" } } }, Token);
            await writer.DisposeAsync();
            var stored = (await store.GetAsync(response.ResponseId!, Token))!;

            Assert.Equal(
                new Dictionary<string, string> { ["user"] = "u-1", ["feature"] = "summary", ["run"] = "r-9" },
                stored.Metadata!.ToDictionary());
            Assert.Equal((activity!.TraceId.ToHexString(), activity.SpanId.ToHexString()), (stored.Call!.TraceId, stored.Call.SpanId));
        }

        Assert.Null(ChatCompletionScope.Current);
    }

    [Fact]
    public async Task Options_given_the_openai_way_are_in_the_request_and_their_metadata_on_the_completion()
    {
        _vendor.Completion = Recording.Fixture("openai-hello-basic.json");
        await using var store = database.CreateStore();
        var writer = Recording.Writer(store);
        using var client = Recording.Recorded(Recording.OpenAIClient(_vendor).AsIChatClient(), store, writer);
        var openAiOptions = new OpenAI.Chat.ChatCompletionOptions { StoredOutputEnabled = true, Metadata = { ["source"] = "sdk" } };

        var response = await client.GetResponseAsync("Hello", new ChatOptions { MaxOutputTokens = 50, RawRepresentationFactory = _ => openAiOptions }, Token);
        await writer.DisposeAsync();

        var stored = (await store.GetAsync(response.ResponseId!, Token))!;
        var request = stored.Call!.Request!.Value;
        Assert.Equal((true, "sdk", 50), (request.GetProperty("store").GetBoolean(), request.GetProperty("metadata").GetProperty("source").GetString(), request.GetProperty("max_completion_tokens").GetInt32()));
        Assert.Equal("sdk", stored.Metadata!["source"]);
        Assert.True(JsonNode.Parse(_vendor.Requests.Single())!["store"]!.GetValue<bool>());
    }

    [Fact]
    public async Task The_request_is_left_out_when_told_to()
    {
        _vendor.Completion = Recording.Fixture("openai-hello-basic.json");
        await using var store = database.CreateStore();
        var writer = Recording.Writer(store);
        using var client = Recording.Recorded(Recording.OpenAIClient(_vendor).AsIChatClient(), store, writer, o => o.RecordRequest = false);

        var response = await client.GetResponseAsync("A secret prompt", cancellationToken: Token);
        await writer.DisposeAsync();

        var call = (await store.GetAsync(response.ResponseId!, Token))!.Call!;
        Assert.Null(call.Request);
        Assert.NotNull(call.Latency);
    }

    [Fact]
    public async Task A_client_that_is_not_openai_is_recorded_from_the_response_fields()
    {
        await using var store = database.CreateStore();
        var writer = Recording.Writer(store);
        var reply = new ChatResponse(new ChatMessage(ChatRole.Assistant,
            [new TextReasoningContent("thinking"), new FunctionCallContent("call_1", "weather", new Dictionary<string, object?> { ["city"] = "Paris" })]))
        {
            ResponseId = $"local-{Guid.NewGuid():N}",
            ModelId = "llama3",
            CreatedAt = DateTimeOffset.FromUnixTimeSeconds(1_750_000_000),
            FinishReason = Microsoft.Extensions.AI.ChatFinishReason.ToolCalls,
            Usage = new UsageDetails { InputTokenCount = 10, OutputTokenCount = 5, TotalTokenCount = 15, CachedInputTokenCount = 4 },
        };
        using var client = Recording.Recorded(new CannedChatClient(reply), store, writer);

        await client.GetResponseAsync("Weather in Paris?", cancellationToken: Token);
        await writer.DisposeAsync();

        var stored = (await store.GetAsync(reply.ResponseId, Token))!;
        JsonAssert.SemanticallyEqual("""
            {"id":"ID","object":"chat.completion","created":1750000000,"model":"llama3",
             "choices":[{"index":0,"finish_reason":"tool_calls","message":{"role":"assistant","reasoning":"thinking",
               "tool_calls":[{"id":"call_1","type":"function","function":{"name":"weather","arguments":"{\"city\":\"Paris\"}"}}]}}],
             "usage":{"prompt_tokens":10,"completion_tokens":5,"total_tokens":15,"prompt_tokens_details":{"cached_tokens":4}}}
            """.Replace("ID", reply.ResponseId, StringComparison.Ordinal), ChatCompletionJson.Serialize(stored));
        Assert.Equal("Weather in Paris?", stored.Call!.Request!.Value.GetProperty("messages")[0].GetProperty("content").GetString());
    }

    [Fact]
    public async Task A_tenant_scope_records_into_that_tenant_only()
    {
        _vendor.Completion = Recording.Fixture("openai-hello-basic.json");
        await using var store = database.CreateStore();
        var writer = Recording.Writer(store);
        var client = Recording.Recorded(Recording.OpenAIClient(_vendor).AsIChatClient(), store, writer);
        var tenant = $"tenant-{Guid.NewGuid():N}";

        ChatResponse response;
        using (ChatCompletionScope.Begin(tenant: tenant))
        {
            response = await client.GetResponseAsync("Hello", cancellationToken: Token);
        }

        client.Dispose(); // flushes the tenant's writer
        await writer.DisposeAsync();

        Assert.NotNull(await store.ForTenant(tenant).GetAsync(response.ResponseId!, Token));
        Assert.Null(await store.ForTenant($"other-{tenant}").GetAsync(response.ResponseId!, Token));
    }

    private sealed class CannedChatClient(ChatResponse response) : IChatClient
    {
        public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
            Task.FromResult(response);

        public IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
            response.ToChatResponseUpdates().ToAsyncEnumerable();

        public object? GetService(Type serviceType, object? serviceKey = null) => null;

        public void Dispose()
        {
        }
    }
}

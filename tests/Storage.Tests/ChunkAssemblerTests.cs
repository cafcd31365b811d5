using System.Text.Json;
using System.Text.Json.Nodes;

namespace Storage.Tests;

public sealed class ChunkAssemblerTests
{
    // An OpenAI stream as the API sends it with stream_options.include_usage, obfuscation padding and all.
    private const string OpenAiStream = """
        data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1741569952,"model":"gpt-4o-2024-08-06","service_tier":"default","system_fingerprint":"fp_1","choices":[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}],"usage":null,"obfuscation":"x1"}

        data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1741569952,"model":"gpt-4o-2024-08-06","service_tier":"default","system_fingerprint":"fp_1","choices":[{"index":0,"delta":{"content":"Hello"},"logprobs":null,"finish_reason":null}],"usage":null,"obfuscation":"x2"}

        data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1741569952,"model":"gpt-4o-2024-08-06","service_tier":"default","system_fingerprint":"fp_1","choices":[{"index":0,"delta":{"content":", world"},"logprobs":null,"finish_reason":null}],"usage":null}

        data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1741569952,"model":"gpt-4o-2024-08-06","service_tier":"default","system_fingerprint":"fp_1","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}],"usage":null}

        data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1741569952,"model":"gpt-4o-2024-08-06","service_tier":"default","system_fingerprint":"fp_1","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":3,"total_tokens":12,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}}

        data: [DONE]

        """;

    public static TheoryData<string> Files()
    {
        var data = new TheoryData<string>();
        foreach (var file in Fixtures.SharedCompletionFiles.Concat(Fixtures.SampleFiles))
        {
            data.Add(file);
        }

        return data;
    }

    [Fact]
    public void An_openai_stream_assembles_into_the_completion_a_plain_call_returns()
    {
        var assembler = new ChatCompletionChunkAssembler();
        foreach (var data in SseData(OpenAiStream))
        {
            assembler.Add(data);
        }

        var completion = assembler.ToCompletion();

        JsonAssert.SemanticallyEqual("""
            {"id":"chatcmpl-1","object":"chat.completion","created":1741569952,"model":"gpt-4o-2024-08-06","service_tier":"default","system_fingerprint":"fp_1",
             "choices":[{"index":0,"message":{"role":"assistant","content":"Hello, world","refusal":null},"logprobs":null,"finish_reason":"stop"}],
             "usage":{"prompt_tokens":9,"completion_tokens":3,"total_tokens":12,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}}
            """, ChatCompletionJson.Serialize(completion));
        Assert.Equal(5, assembler.Count);
    }

    [Fact]
    public void A_stream_cut_short_yields_what_arrived_with_no_finish_reason()
    {
        var assembler = new ChatCompletionChunkAssembler();
        foreach (var data in SseData(OpenAiStream).Take(2))
        {
            assembler.Add(data);
        }

        var completion = assembler.ToCompletion();

        Assert.Equal("Hello", completion.Choices.Single().Message.Content?.Text);
        Assert.Null(completion.Choices[0].FinishReason);
        Assert.Null(completion.Usage);
    }

    [Fact]
    public void The_completion_can_be_taken_again_as_more_chunks_arrive()
    {
        var assembler = new ChatCompletionChunkAssembler();
        var chunks = SseData(OpenAiStream).ToList();
        assembler.Add(chunks[0]);
        assembler.Add(chunks[1]);
        var early = assembler.ToCompletion();

        foreach (var chunk in chunks.Skip(2))
        {
            assembler.Add(chunk);
        }

        Assert.Equal(("Hello", "Hello, world"), (early.Choices[0].Message.Content?.Text, assembler.ToCompletion().Choices[0].Message.Content?.Text));
    }

    [Fact]
    public void Streamed_tool_calls_are_merged_by_their_index()
    {
        var assembler = new ChatCompletionChunkAssembler();
        string[] chunks =
        [
            """{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"call_a","type":"function","function":{"name":"weather","arguments":""}}]},"finish_reason":null}]}""",
            """{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"city\":"}}]},"finish_reason":null}]}""",
            """{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"call_b","type":"function","function":{"name":"time","arguments":"{}"}}]},"finish_reason":null}]}""",
            """{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\"Paris\"}"}}]},"finish_reason":null}]}""",
            """{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}""",
        ];
        foreach (var chunk in chunks)
        {
            assembler.Add(chunk);
        }

        JsonAssert.SemanticallyEqual("""
            {"id":"c","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"finish_reason":"tool_calls","message":{"role":"assistant","content":null,"tool_calls":[
              {"id":"call_a","type":"function","function":{"name":"weather","arguments":"{\"city\":\"Paris\"}"}},
              {"id":"call_b","type":"function","function":{"name":"time","arguments":"{}"}}]}}]}
            """, ChatCompletionJson.Serialize(assembler.ToCompletion()));
    }

    [Fact]
    public void Choices_are_matched_by_index_whatever_order_their_chunks_come_in()
    {
        var assembler = new ChatCompletionChunkAssembler();
        assembler.Add("""{"id":"c","created":1,"model":"m","choices":[{"index":1,"delta":{"content":"B"}}]}""");
        assembler.Add("""{"id":"c","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"A"}},{"index":1,"delta":{"content":"b"},"finish_reason":"stop"}]}""");
        assembler.Add("""{"id":"c","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"a"},"finish_reason":"length"}]}""");

        var completion = assembler.ToCompletion();

        Assert.Equal(
            [(0, "Aa", "length", "assistant"), (1, "Bb", "stop", "assistant")],
            completion.Choices.Select(c => (c.Index, c.Message.Content?.Text, c.FinishReason, c.Message.Role)));
    }

    [Fact]
    public void Vendor_members_are_kept_at_every_level_and_only_stream_bookkeeping_is_dropped()
    {
        var assembler = new ChatCompletionChunkAssembler();
        assembler.Add("""{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","provider":"Groq","x_groq":{"id":"req_1"},"obfuscation":"pad","choices":[{"index":0,"delta":{"role":"assistant","reasoning":"Think","reasoning_details":[{"type":"reasoning.text","text":"Think"}]}}]}""");
        assembler.Add("""{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"reasoning":"ing","reasoning_details":[{"type":"reasoning.text","text":"ing"}],"reasoning_content":"R"},"native_finish_reason":"STOP","finish_reason":"stop"}]}""");
        assembler.Add("""{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","x_groq":{"usage":{"queue_time":0.1}},"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3,"cost":0.5}}""");

        JsonAssert.SemanticallyEqual("""
            {"id":"c","object":"chat.completion","created":1,"model":"m","provider":"Groq","x_groq":{"id":"req_1","usage":{"queue_time":0.1}},
             "choices":[{"index":0,"finish_reason":"stop","native_finish_reason":"STOP","message":{"role":"assistant","reasoning":"Thinking","reasoning_content":"R",
               "reasoning_details":[{"type":"reasoning.text","text":"Think"},{"type":"reasoning.text","text":"ing"}]}}],
             "usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3,"cost":0.5}}
            """, ChatCompletionJson.Serialize(assembler.ToCompletion()));
    }

    [Fact]
    public void Content_streamed_as_parts_merges_into_the_parts_of_a_plain_response()
    {
        var assembler = new ChatCompletionChunkAssembler();
        assembler.Add("""{"id":"m1","created":1,"model":"magistral","choices":[{"index":0,"delta":{"role":"assistant","content":[{"type":"thinking","thinking":[{"type":"text","text":"Let me "}]}]}}]}""");
        assembler.Add("""{"id":"m1","created":1,"model":"magistral","choices":[{"index":0,"delta":{"content":[{"type":"thinking","thinking":[{"type":"text","text":"think."}]}]}}]}""");
        assembler.Add("""{"id":"m1","created":1,"model":"magistral","choices":[{"index":0,"delta":{"content":"The "}}]}""");
        assembler.Add("""{"id":"m1","created":1,"model":"magistral","choices":[{"index":0,"delta":{"content":[{"type":"text","text":"answer."}]},"finish_reason":"stop"}]}""");

        var parts = assembler.ToCompletion().Choices[0].Message.Content?.Parts;

        Assert.NotNull(parts);
        JsonAssert.SemanticallyEqual("""
            [{"type":"thinking","thinking":[{"type":"text","text":"Let me think."}]},{"type":"text","text":"The answer."}]
            """, parts.Value.GetRawText());
    }

    [Fact]
    public void Audio_and_logprobs_are_put_back_together()
    {
        var assembler = new ChatCompletionChunkAssembler();
        assembler.Add("""{"id":"a","created":1,"model":"gpt-audio","choices":[{"index":0,"delta":{"role":"assistant","audio":{"id":"audio_1","data":"AAA","transcript":"He"}},"logprobs":{"content":[{"token":"He","logprob":-0.1,"bytes":[72,101],"top_logprobs":[]}],"refusal":null}}]}""");
        assembler.Add("""{"id":"a","created":1,"model":"gpt-audio","choices":[{"index":0,"delta":{"audio":{"data":"BBB","transcript":"llo","expires_at":1700000000}},"logprobs":{"content":[{"token":"llo","logprob":-0.2,"bytes":null,"top_logprobs":[]}]},"finish_reason":"stop"}]}""");

        var choice = assembler.ToCompletion().Choices[0];

        Assert.Equal(("audio_1", "AAABBB", "Hello"), (choice.Message.Audio?.Id, choice.Message.Audio?.Data, choice.Message.Audio?.Transcript));
        Assert.Equal(["He", "llo"], choice.Logprobs!.Content!.Select(t => t.Token));
        Assert.Null(choice.Logprobs.Refusal);
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void Every_fixture_streamed_in_pieces_assembles_back_into_itself(string file)
    {
        var json = Fixtures.Read(file);
        var assembler = new ChatCompletionChunkAssembler();
        foreach (var chunk in CompletionChunks.Of(JsonNode.Parse(json)!.AsObject()))
        {
            assembler.Add(chunk.ToJsonString());
        }

        var assembled = ChatCompletionJson.Serialize(assembler.ToCompletion());

        // A tool call's index is stream bookkeeping, dropped by design, even where a vendor also sends it in plain responses (Mistral, Ollama).
        var expected = JsonNode.Parse(json)!.AsObject();
        foreach (var call in expected["choices"]!.AsArray().Select(c => c!["message"]?["tool_calls"]).OfType<JsonArray>().SelectMany(calls => calls))
        {
            call!.AsObject().Remove("index");
        }

        JsonAssert.SemanticallyEqual(expected.ToJsonString(), assembled);
    }

    [Fact]
    public void A_malformed_chunk_is_rejected_naming_the_field_and_leaves_the_assembler_as_it_was()
    {
        var assembler = new ChatCompletionChunkAssembler();
        assembler.Add("""{"id":"c","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":"Hi"}}]}""");

        var wrongType = Assert.Throws<ChatCompletionValidationException>(() => assembler.Add(
            """{"id":"c","choices":[{"index":0,"delta":{"content":" there","tool_calls":[{"index":0,"function":{"arguments":42}}]}}]}"""));
        var notJson = Assert.Throws<ChatCompletionValidationException>(() => assembler.Add("{\"id\":"));
        var badIndex = Assert.Throws<ChatCompletionValidationException>(() => assembler.Add("""{"choices":[{"index":"0"}]}"""));
        var badCreated = Assert.Throws<ChatCompletionValidationException>(() => assembler.Add("""{"created":"yesterday"}"""));

        Assert.Equal(
            [("choices[0].delta.tool_calls[0].function.arguments", ChatCompletionValidationRule.InvalidValue), ("$", ChatCompletionValidationRule.MalformedJson),
             ("choices[0].index", ChatCompletionValidationRule.InvalidValue), ("created", ChatCompletionValidationRule.InvalidValue)],
            new[] { wrongType, notJson, badIndex, badCreated }.Select(e => (e.Field, e.Rule)));
        Assert.Equal(("Hi", 1), (assembler.ToCompletion().Choices[0].Message.Content?.Text, assembler.Count));
    }

    [Fact]
    public void A_completion_needs_at_least_one_chunk_and_an_id()
    {
        var assembler = new ChatCompletionChunkAssembler();
        Assert.Throws<InvalidOperationException>(assembler.ToCompletion);

        assembler.Add("""{"created":1,"model":"m","choices":[]}""");

        Assert.Equal("id", Assert.Throws<ChatCompletionValidationException>(assembler.ToCompletion).Field);
    }

    [Fact]
    public void Utf8_chunks_are_accepted()
    {
        var assembler = new ChatCompletionChunkAssembler();

        assembler.Add("""{"id":"c","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"ünïcødé"}}]}"""u8.ToArray());

        Assert.Equal("ünïcødé", assembler.ToCompletion().Choices[0].Message.Content?.Text);
    }

    private static IEnumerable<string> SseData(string stream) =>
        stream.Split('\n')
            .Select(line => line.Trim())
            .Where(line => line.StartsWith("data: ", StringComparison.Ordinal) && line != "data: [DONE]")
            .Select(line => line["data: ".Length..]);
}

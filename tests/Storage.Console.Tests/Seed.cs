using System.Globalization;
using System.Text.Json;

namespace Storage.Console.Tests;

/// <summary>Completions the console tests store directly through the library, each test under names of its own.</summary>
internal static class Seed
{
    /// <summary>A one-choice completion with this answer, creation time, usage and metadata.</summary>
    public static ChatCompletion Completion(
        string id, string model, DateTimeOffset created, string content = "Hello!", IDictionary<string, string>? metadata = null,
        (long Prompt, long Completion)? usage = null)
    {
        var completion = TestCompletions.Completion(id, content, model);
        completion.Created = created;
        completion.Metadata = metadata;
        if (usage is var (prompt, output))
        {
            completion.Usage = new ChatUsage { PromptTokens = prompt, CompletionTokens = output, TotalTokens = prompt + output };
        }

        return completion;
    }

    /// <summary>A one-choice completion that calls this function (no text), finishing with <c>tool_calls</c>.</summary>
    public static ChatCompletion ToolCall(string id, string model, DateTimeOffset created, string function, string arguments)
    {
        var completion = Completion(id, model, created);
        var choice = completion.Choices[0];
        choice.FinishReason = "tool_calls";
        choice.Message.Content = null;
        choice.Message.ToolCalls = [new ChatToolCall { Id = $"call_{function}", Type = "function", Function = new ChatFunction { Name = function, Arguments = arguments } }];
        return completion;
    }

    /// <summary>
    /// A completion with a whole conversation behind it: the request's system, user, assistant (calling a tool) and tool
    /// messages, and one choice that reasons, calls <c>get_weather</c>, cites a page, and has log probabilities; usage with
    /// cached and reasoning tokens, and the call's timings and trace.
    /// </summary>
    public static ChatCompletion ToolsAndReasoning(string id, string model)
    {
        var completion = ChatCompletionJson.Parse("""
            {"id":"__ID__","object":"chat.completion","created":1764300000,"model":"__MODEL__",
             "choices":[{"index":0,"message":{"role":"assistant","content":null,
               "reasoning_content":"The user wants the Paris forecast, so I call the weather tool for three days.",
               "tool_calls":[{"id":"call_weather_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\",\"days\":3}"}}],
               "annotations":[{"type":"url_citation","url_citation":{"start_index":0,"end_index":5,"url":"https://example.com/paris","title":"Paris forecast"}}]},
              "finish_reason":"tool_calls",
              "logprobs":{"content":[{"token":"Hi","logprob":-0.5,"bytes":[72,105],"top_logprobs":[]},{"token":"!","logprob":-1.5,"bytes":[33],"top_logprobs":[]}],"refusal":null}}],
             "usage":{"prompt_tokens":120,"completion_tokens":80,"total_tokens":200,
               "prompt_tokens_details":{"cached_tokens":64},"completion_tokens_details":{"reasoning_tokens":48}}}
            """);
        completion.Id = id;
        completion.Model = model;
        completion.Call = new ChatCompletionCall
        {
            StartedAt = DateTimeOffset.Parse("2025-11-28T10:00:00Z", CultureInfo.InvariantCulture),
            Latency = TimeSpan.FromMilliseconds(1250),
            TimeToFirstToken = TimeSpan.FromMilliseconds(400),
            TraceId = "4bf92f3577b34da6a3ce929d0e0e4736",
            SpanId = "00f067aa0ba902b7",
            Request = JsonElement.Parse("""
                {"model":"__MODEL__","messages":[
                  {"role":"system","content":"You are a weather assistant."},
                  {"role":"user","content":"Weather in Paris for three days?"},
                  {"role":"assistant","content":null,"tool_calls":[{"id":"call_0","type":"function","function":{"name":"get_time","arguments":"{\"zone\":\"Europe/Paris\"}"}}]},
                  {"role":"tool","tool_call_id":"call_0","content":"09:58"}],
                 "tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object"}}}],"temperature":0.2}
                """.Replace("__MODEL__", model, StringComparison.Ordinal)),
        };
        return completion;
    }
}

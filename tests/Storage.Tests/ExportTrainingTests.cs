using System.Text.Json;

namespace Storage.Tests;

/// <summary>
/// The fine-tuning and evaluation exports: every line checked against the rules of OpenAI's chat fine-tuning format (known
/// roles, the assistant's answer last, tool calls with JSON-string arguments, tools and parallel_tool_calls when the
/// request had them), and completions without a stored request skipped with a reason.
/// </summary>
public sealed class ExportTrainingTests(MigratedDatabase database) : IClassFixture<MigratedDatabase>
{
    private static readonly string[] Roles = ["system", "developer", "user", "assistant", "tool", "function"];

    private static readonly string[] Members = ["messages", "tools", "parallel_tool_calls"];

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Fine_tuning_lines_follow_the_format_and_skip_completions_without_a_request()
    {
        var model = $"ft-{TestCompletions.Unique()}";
        await using var store = database.CreateStore();
        var (text, toolCall, parts, bare, noAnswer) = await SeedAsync(store, model);

        var lines = await store.ExportFineTuningAsync(new ChatCompletionFilter { Model = model }, Token).ToListAsync(Token);

        Assert.Equal(
            new[] { (bare.Id, "no stored request"), (noAnswer.Id, "choice 0 has neither content nor function tool calls") }.Order(),
            lines.Where(l => l.Json is null).Select(l => (l.CompletionId, l.Skipped!)).Order());
        var written = lines.Where(l => l.Json is not null).ToDictionary(l => l.CompletionId, l => JsonDocument.Parse(l.Json!).RootElement);
        Assert.Equal(3, written.Count);
        foreach (var line in written.Values)
        {
            AssertFineTuningLine(line);
        }

        var first = written[text.Id];
        Assert.Equal(["system", "user", "assistant"], first.GetProperty("messages").EnumerateArray().Select(m => m.GetProperty("role").GetString()));
        Assert.Equal("Paris.", first.GetProperty("messages")[2].GetProperty("content").GetString());
        Assert.False(first.TryGetProperty("tools", out _));
        Assert.False(first.TryGetProperty("parallel_tool_calls", out _));

        var withTools = written[toolCall.Id];
        var answer = withTools.GetProperty("messages").EnumerateArray().Last();
        Assert.Equal(JsonValueKind.Null, answer.GetProperty("content").ValueKind);
        Assert.Equal("get_weather", answer.GetProperty("tool_calls")[0].GetProperty("function").GetProperty("name").GetString());
        Assert.Equal("""{"city":"Paris"}""", answer.GetProperty("tool_calls")[0].GetProperty("function").GetProperty("arguments").GetString());
        Assert.Equal("get_weather", withTools.GetProperty("tools")[0].GetProperty("function").GetProperty("name").GetString());
        Assert.False(withTools.GetProperty("parallel_tool_calls").GetBoolean());

        Assert.Equal("Bonjour à tous", written[parts.Id].GetProperty("messages").EnumerateArray().Last().GetProperty("content").GetString());
    }

    [Fact]
    public async Task Eval_lines_hold_the_request_as_input_the_answer_as_ideal_and_the_completions_id_model_and_metadata()
    {
        var model = $"eval-{TestCompletions.Unique()}";
        await using var store = database.CreateStore();
        var (text, toolCall, _, bare, _) = await SeedAsync(store, model);

        var lines = await store.ExportEvalAsync(new ChatCompletionFilter { Model = model }, Token).ToListAsync(Token);

        Assert.Equal("no stored request", Assert.Single(lines, l => l.CompletionId == bare.Id).Skipped);
        Assert.Equal(4, lines.Count(l => l.Json is not null));
        var line = JsonDocument.Parse(Assert.Single(lines, l => l.CompletionId == text.Id).Json!).RootElement;
        Assert.Equal(["system", "user"], line.GetProperty("item").GetProperty("input").EnumerateArray().Select(m => m.GetProperty("role").GetString()));
        Assert.Equal("Paris.", line.GetProperty("item").GetProperty("ideal").GetString());
        Assert.Equal(text.Id, line.GetProperty("completion_id").GetString());
        Assert.Equal(model, line.GetProperty("model").GetString());
        Assert.Equal("acme", line.GetProperty("metadata").GetProperty("tenant").GetString());
        var toolLine = JsonDocument.Parse(Assert.Single(lines, l => l.CompletionId == toolCall.Id).Json!).RootElement;
        Assert.Equal(JsonValueKind.Null, toolLine.GetProperty("item").GetProperty("ideal").ValueKind);
    }

    /// <summary>The rules of OpenAI's chat fine-tuning format that a line must meet.</summary>
    private static void AssertFineTuningLine(JsonElement line)
    {
        var messages = line.GetProperty("messages").EnumerateArray().ToList();
        Assert.True(messages.Count >= 2);
        Assert.All(messages, m => Assert.Contains(m.GetProperty("role").GetString(), Roles));
        var last = messages[^1];
        Assert.Equal("assistant", last.GetProperty("role").GetString());
        var hasContent = last.GetProperty("content").ValueKind == JsonValueKind.String;
        var hasCalls = last.TryGetProperty("tool_calls", out var calls) && calls.GetArrayLength() > 0;
        Assert.True(hasContent || hasCalls);
        if (hasCalls)
        {
            foreach (var call in calls.EnumerateArray())
            {
                Assert.Equal("function", call.GetProperty("type").GetString());
                Assert.False(string.IsNullOrEmpty(call.GetProperty("id").GetString()));
                var arguments = call.GetProperty("function").GetProperty("arguments");
                Assert.Equal(JsonValueKind.String, arguments.ValueKind);
                using var parsed = JsonDocument.Parse(arguments.GetString()!);
            }
        }

        Assert.All(line.EnumerateObject(), member => Assert.Contains(member.Name, Members));
    }

    private static async Task<(ChatCompletion Text, ChatCompletion ToolCall, ChatCompletion Parts, ChatCompletion Bare, ChatCompletion NoAnswer)> SeedAsync(
        ChatCompletionStore store, string model)
    {
        const string Question = """[{"role":"system","content":"Be brief."},{"role":"user","content":"Capital of France?"}]""";
        var text = TestCompletions.Completion(content: "Paris.", model: model);
        text.Call = Call($$"""{"model":"{{model}}","messages":{{Question}}}""");
        var toolCall = TestCompletions.Completion(model: model);
        toolCall.Choices[0].Message.Content = null;
        toolCall.Choices[0].FinishReason = "tool_calls";
        toolCall.Choices[0].Message.ToolCalls =
        [
            new ChatToolCall { Id = "call_1", Type = "function", Function = new ChatFunction { Name = "get_weather", Arguments = """{"city":"Paris"}""" } },
            new ChatToolCall { Id = "call_2", Type = "custom", Custom = new ChatCustomToolCall { Name = "grammar", Input = "x" } },
        ];
        toolCall.Call = Call($$"""
            {"model":"{{model}}","messages":[{"role":"user","content":"Weather in Paris?"}],"parallel_tool_calls":false,
             "tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"} } } } }]}
            """);
        var parts = TestCompletions.Completion(model: model);
        parts.Choices[0].Message.Content = new ChatMessageContent(JsonElement.Parse("""[{"type":"text","text":"Bonjour "},{"type":"text","text":"à tous"}]"""));
        parts.Call = Call($$"""{"model":"{{model}}","messages":[{"role":"user","content":[{"type":"text","text":"Greet in French"}]}]}""");
        var bare = TestCompletions.Completion(model: model);
        var noAnswer = TestCompletions.Completion(model: model);
        noAnswer.Choices[0].Message.Content = null;
        noAnswer.Choices[0].Message.Refusal = "I can't.";
        noAnswer.Call = Call($$"""{"model":"{{model}}","messages":{{Question}}}""");
        foreach (var completion in new[] { text, toolCall, parts, bare, noAnswer })
        {
            await store.SaveAsync(completion, Token);
        }

        return (text, toolCall, parts, bare, noAnswer);
    }

    private static ChatCompletionCall Call(string request) => new() { StartedAt = DateTimeOffset.UnixEpoch, Request = JsonElement.Parse(request) };
}

using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Storage.Tests;

/// <summary>
/// Importing an OpenAI Batch API job: output lines joined with input lines by custom_id in any order, each completion
/// stored with its request; failed, non-200, unmatched and malformed lines reported with their line and skipped.
/// </summary>
public sealed class BatchImportTests(MigratedDatabase database) : IClassFixture<MigratedDatabase>
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Successful_lines_are_stored_with_their_requests_and_the_rest_reported_and_skipped()
    {
        var model = $"batch-{TestCompletions.Unique()}";
        var input = Lines(Enumerable.Range(1, 4).Select(i => Input($"req-{i}", model, $"Question {i}?")));
        var output = Lines(
        [
            Output("req-3", 200, TestCompletions.Make($"{model}-c3", model)),
            Output("req-1", 200, TestCompletions.Make($"{model}-c1", model)),
            """{"id":"batch_req_e","custom_id":"req-2","response":null,"error":{"code":"server_error","message":"The server had an error"}}""",
            Output("req-4", 429, """{"error":{"message":"Rate limit reached","type":"requests"}}"""),
            Output("req-9", 200, TestCompletions.Make($"{model}-c9", model)),
            "not json",
            Output("req-1", 200, """{"id":"x","object":"chat.completion"}"""),
            Output("req-1", 200, TestCompletions.Make($"{model}-c1", model)),
        ]);
        await using var store = database.CreateStore();

        var results = await store.ImportBatchAsync(Stream(input), Stream(output), Token).OrderBy(r => r.Line).ToListAsync(Token);

        Assert.Equal([1L, 2, 3, 4, 5, 6, 7, 8], results.Select(r => r.Line));
        Assert.Equal(
            [SaveOutcome.Stored, SaveOutcome.Stored, null, null, null, null, null, SaveOutcome.AlreadyStored],
            results.Select(r => r.Outcome));
        Assert.Equal("error: server_error: The server had an error", results[2].Error);
        Assert.Equal("response.status_code: 429: Rate limit reached", results[3].Error);
        Assert.Equal("custom_id: no input line has it", results[4].Error);
        Assert.StartsWith("is not JSON", results[5].Error, StringComparison.Ordinal);
        Assert.Null(results[5].CustomId);
        Assert.StartsWith("response.body: ", results[6].Error, StringComparison.Ordinal);
        Assert.Equal("req-2", results[2].CustomId);

        var stored = await store.ExportAsync(new ChatCompletionFilter { Model = model }, Token).ToListAsync(Token);
        Assert.Equal([$"{model}-c1", $"{model}-c3"], stored.Select(c => c.Id).Order());
        foreach (var completion in stored)
        {
            var n = completion.Id[^1];
            Assert.Equal($"Question {n}?", completion.Call!.Request!.Value.GetProperty("messages")[0].GetProperty("content").GetString());
            Assert.Equal(completion.Created, completion.Call.StartedAt);
        }

        var messages = await store.ListMessagesAsync($"{model}-c3", cancellationToken: Token);
        Assert.Equal("Question 3?", Assert.Single(messages.Items).GetProperty("content").GetString());
    }

    private static string Input(string customId, string model, string question) =>
        new JsonObject
        {
            ["custom_id"] = customId,
            ["method"] = "POST",
            ["url"] = "/v1/chat/completions",
            ["body"] = new JsonObject { ["model"] = model, ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = question }) },
        }.ToJsonString();

    private static string Output(string customId, int status, string body) =>
        $$"""{"id":"batch_req_{{customId}}","custom_id":"{{customId}}","response":{"status_code":{{status}},"request_id":"r","body":{{body}}},"error":null}""";

    private static string Lines(IEnumerable<string> lines) => string.Concat(lines.Select(line => line + "\n"));

    private static MemoryStream Stream(string text) => new(Encoding.UTF8.GetBytes(text));
}

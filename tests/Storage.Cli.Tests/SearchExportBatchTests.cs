using System.Text.Json;
using System.Text.Json.Nodes;

namespace Storage.Cli.Tests;

/// <summary>
/// A Batch API job imported with <c>import --batch-input --batch-output</c>, then found with the new filters on
/// <c>list</c>, <c>export</c>, <c>usage</c> and <c>prune</c>, and exported for fine-tuning and evals; bad filter values
/// are usage errors naming the option.
/// </summary>
public sealed class SearchExportBatchTests(MigratedDatabase database) : IClassFixture<MigratedDatabase>
{
    [Fact]
    public async Task A_batch_job_is_imported_with_its_requests_searched_filtered_and_exported_for_fine_tuning_and_evals()
    {
        var model = $"cli-{TestCompletions.Unique()}";
        string[] questions = ["Wie spät ist es?", "Который час в Москве?", "东京现在几点"];
        using var input = new TemporaryFile(".jsonl", string.Concat(questions.Select((q, i) => Input($"r{i}", model, q) + "\n")));
        var answer = JsonNode.Parse(TestCompletions.Make($"{model}-a0", model))!;
        answer["choices"]![0]!["finish_reason"] = "length";
        using var output = new TemporaryFile(".jsonl", string.Concat(
            Output("r0", 200, answer.ToJsonString()) + "\n",
            Output("r1", 200, TestCompletions.Make($"{model}-a1", model)) + "\n",
            Output("r2", 500, """{"error":{"message":"boom"}}""") + "\n"));

        var imported = await database.RunAsync("import", "--batch-input", input.Path, "--batch-output", output.Path);

        Assert.Equal(1, imported.ExitCode);
        Assert.StartsWith("imported 2, skipped 0 (already stored), failed 1", imported.Out, StringComparison.Ordinal);
        Assert.Equal($"{output.Path}:3: r2: response.status_code: 500: boom", imported.Error.Trim());

        Assert.Equal([$"{model}-a1"], await ListIdsAsync("--model", model, "--search", "МОСКВ"));
        Assert.Equal([$"{model}-a0"], await ListIdsAsync("--model", model, "--search", "spät"));
        Assert.Equal([$"{model}-a0"], await ListIdsAsync("--model", model, "--finish-reason", "length"));
        Assert.Equal([$"{model}-a0", $"{model}-a1"], (await ListIdsAsync("--model", model, "--no-tool-calls", "--min-tokens", "1")).Order());
        Assert.Empty(await ListIdsAsync("--model", model, "--has-tool-calls"));
        Assert.Empty(await ListIdsAsync("--model", model, "--tool", "get_time"));
        Assert.Empty(await ListIdsAsync("--model", model, "--min-latency", "1"));

        var exported = await database.RunAsync("export", "--model", model, "--search", "Который");
        Assert.Equal([$"{model}-a1"], TestCompletions.Ids(exported.OutLines));
        var usage = await database.RunAsync("usage", "--model", model, "--search", "wie", "--json");
        Assert.Equal(1, JsonDocument.Parse(usage.Out).RootElement[0].GetProperty("completions").GetInt32());

        var fineTune = await database.RunAsync("export", "--format", "chat-finetune", "--model", model);
        Assert.True(fineTune.ExitCode == 0, fineTune.ToString());
        Assert.Equal(2, fineTune.OutLines.Count);
        foreach (var line in fineTune.OutLines.Select(l => JsonDocument.Parse(l).RootElement))
        {
            var messages = line.GetProperty("messages").EnumerateArray().ToList();
            Assert.Equal(["user", "assistant"], messages.Select(m => m.GetProperty("role").GetString()));
            Assert.Contains(messages[0].GetProperty("content").GetString(), questions);
        }

        Assert.Equal("exported 2, skipped 0", fineTune.Error.Trim());
        var eval = await database.RunAsync("export", "--format", "eval", "--model", model, "--search", "東京");
        Assert.Empty(eval.OutLines);

        var prune = await database.RunAsync("prune", "--before", "2100-01-01T00:00:00Z", "--model", model, "--finish-reason", "length");
        Assert.True(prune.ExitCode == 0, prune.ToString());
        Assert.StartsWith("deleted 1 completions", prune.Out, StringComparison.Ordinal);
        Assert.Equal([$"{model}-a1"], await ListIdsAsync("--model", model));
    }

    [Fact]
    public async Task A_completion_without_a_request_is_counted_on_stderr_by_the_fine_tuning_export()
    {
        var model = $"bare-{TestCompletions.Unique()}";
        Assert.Equal(0, (await database.RunWithInputAsync(TestCompletions.Make($"{model}-x", model), "import", "-")).ExitCode);

        var result = await database.RunAsync("export", "--format", "chat-finetune", "--model", model);

        Assert.Equal(0, result.ExitCode);
        Assert.Empty(result.OutLines);
        Assert.Equal("exported 0, skipped 1; 1 with no stored request", result.Error.Trim());
    }

    [Theory]
    [InlineData("list", "--min-tokens", "many")]
    [InlineData("export", "--max-latency", "-5")]
    [InlineData("usage", "--max-tokens", "1.5")]
    [InlineData("prune", "--min-latency", "x")]
    public async Task A_bad_filter_value_is_a_usage_error_naming_the_option(string command, string option, string value)
    {
        string[] args = command == "prune" ? [command, "--older-than", "30d", option, value] : [command, option, value];

        var result = await database.RunAsync(args);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains(option, result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_search_index_command_turns_the_indexes_on_and_off()
    {
        var on = await database.RunAsync("search-index", "--enable");
        var off = await database.RunAsync("search-index", "--disable");
        var status = await database.RunAsync("search-index");

        Assert.Equal("search index: on", on.Out.Trim());
        Assert.Equal("search index: off", off.Out.Trim());
        Assert.Equal("search index: off", status.Out.Trim());
    }

    private async Task<List<string>> ListIdsAsync(params string[] filters)
    {
        var result = await database.RunAsync(["list", "--limit", "100", .. filters]);
        Assert.True(result.ExitCode == 0, result.ToString());
        return JsonDocument.Parse(result.Out).RootElement.GetProperty("data").EnumerateArray().Select(c => c.GetProperty("id").GetString()!).ToList();
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
}

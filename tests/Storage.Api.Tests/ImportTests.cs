using System.Net;
using System.Text;
using System.Text.Json;

namespace Storage.Api.Tests;

/// <summary><c>POST /v1/storage/import</c>: JSON Lines into the bulk path, with counts and the rejected lines' numbers and reasons.</summary>
public sealed class ImportTests(ApiFixture api) : IClassFixture<ApiFixture>
{
    [Fact]
    public async Task An_import_counts_stored_already_stored_and_rejected_lines_with_their_numbers_and_reasons()
    {
        var token = TestContext.Current.CancellationToken;
        var run = TestCompletions.Unique();
        await api.ImportAsync(ApiFixture.DefaultKey, [TestCompletions.Make($"chatcmpl-{run}-old", $"model-{run}")]);
        var lines = string.Join('\n',
            TestCompletions.Make($"chatcmpl-{run}-1", $"model-{run}"),
            "{ not json",
            "",
            TestCompletions.Make($"chatcmpl-{run}-old", $"model-{run}"),
            TestCompletions.Make($"chatcmpl-{run}-2", $"model-{run}").Replace("\"index\":0", "\"index\":-1", StringComparison.Ordinal),
            TestCompletions.Make($"chatcmpl-{run}-3", $"model-{run}").Replace("\"model\":", "\"modle\":", StringComparison.Ordinal),
            TestCompletions.Make($"chatcmpl-{run}-4", $"model-{run}"));
        using var http = api.Http();
        using var content = new StringContent(lines, Encoding.UTF8, "application/x-ndjson");

        using var response = await http.PostAsync("/v1/storage/import", content, token);
        var text = await response.Content.ReadAsStringAsync(token);
        var result = JsonDocument.Parse(text).RootElement;
        var errors = result.GetProperty("errors").EnumerateArray().ToList();
        var listed = JsonDocument.Parse(await http.GetStringAsync($"/v1/chat/completions?model=model-{run}", token)).RootElement.GetProperty("data");

        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        Assert.Equal(2, result.GetProperty("stored").GetInt64());
        Assert.Equal(1, result.GetProperty("already_stored").GetInt64());
        Assert.Equal(3, result.GetProperty("rejected").GetInt64());
        Assert.Equal([2L, 5L, 6L], errors.Select(error => error.GetProperty("line").GetInt64()));
        Assert.Equal("choices[0].index", errors[1].GetProperty("param").GetString());
        Assert.Equal("model", errors[2].GetProperty("param").GetString());
        Assert.All(errors, error => Assert.False(string.IsNullOrEmpty(error.GetProperty("message").GetString())));
        Assert.Equal(3, listed.GetArrayLength());
    }
}

using System.ClientModel;
using System.Net;
using System.Text.Json;
using OpenAI.Chat;

namespace Storage.Api.Tests;

/// <summary>The stored-completions endpoints, driven through the official OpenAI SDK's stored-completions methods.</summary>
public sealed class StoredCompletionsApiTests(ApiFixture api) : IClassFixture<ApiFixture>
{
    [Fact]
    public async Task Paging_to_the_end_with_model_and_metadata_filters_returns_every_match_once_newest_first()
    {
        var token = TestContext.Current.CancellationToken;
        var run = TestCompletions.Unique();
        var model = $"model-{run}";
        var matching = Enumerable.Range(0, 7)
            .Select(i => TestCompletions.Make($"chatcmpl-{run}-{i}", model, new Dictionary<string, string> { ["run"] = run, ["kind"] = "match" }, 1764000000 + i))
            .ToList();
        string[] others =
        [
            TestCompletions.Make($"chatcmpl-{run}-other-model", $"other-{run}", new Dictionary<string, string> { ["run"] = run, ["kind"] = "match" }),
            TestCompletions.Make($"chatcmpl-{run}-other-metadata", model, new Dictionary<string, string> { ["run"] = run, ["kind"] = "other" }),
        ];
        await api.ImportAsync(ApiFixture.DefaultKey, [.. matching, .. others]);

        var options = new ChatCompletionCollectionOptions { Model = model, PageSizeLimit = 3, Metadata = { ["run"] = run, ["kind"] = "match" } };
        var ids = new List<string>();
        await foreach (var completion in api.Client().GetChatCompletionsAsync(options, token))
        {
            ids.Add(completion.Id);
        }

        Assert.Equal(Enumerable.Range(0, 7).Reverse().Select(i => $"chatcmpl-{run}-{i}"), ids);
    }

    [Fact]
    public async Task Ascending_order_lists_oldest_first()
    {
        var token = TestContext.Current.CancellationToken;
        var run = TestCompletions.Unique();
        await api.ImportAsync(ApiFixture.DefaultKey, Enumerable.Range(0, 3).Select(i =>
            TestCompletions.Make($"chatcmpl-{run}-{i}", $"model-{run}", created: 1764000000 + (10 * i))));

        var options = new ChatCompletionCollectionOptions { Model = $"model-{run}", Order = ChatCompletionCollectionOrder.Ascending, PageSizeLimit = 2 };
        var ids = new List<string>();
        await foreach (var completion in api.Client().GetChatCompletionsAsync(options, token))
        {
            ids.Add(completion.Id);
        }

        Assert.Equal([$"chatcmpl-{run}-0", $"chatcmpl-{run}-1", $"chatcmpl-{run}-2"], ids);
    }

    [Fact]
    public async Task A_list_page_has_OpenAIs_envelope()
    {
        var token = TestContext.Current.CancellationToken;
        var run = TestCompletions.Unique();
        await api.ImportAsync(ApiFixture.DefaultKey, Enumerable.Range(0, 3).Select(i =>
            TestCompletions.Make($"chatcmpl-{run}-{i}", $"model-{run}", created: 1764000000 + i)));
        using var http = api.Http();

        var page = JsonDocument.Parse(await http.GetStringAsync($"/v1/chat/completions?model=model-{run}&limit=2", token)).RootElement;

        Assert.Equal("list", page.GetProperty("object").GetString());
        Assert.Equal(2, page.GetProperty("data").GetArrayLength());
        Assert.Equal($"chatcmpl-{run}-2", page.GetProperty("first_id").GetString());
        Assert.Equal($"chatcmpl-{run}-1", page.GetProperty("last_id").GetString());
        Assert.True(page.GetProperty("has_more").GetBoolean());
        Assert.Equal("chat.completion", page.GetProperty("data")[0].GetProperty("object").GetString());
    }

    [Fact]
    public async Task A_retrieved_completion_is_the_stored_wire_json()
    {
        var token = TestContext.Current.CancellationToken;
        var run = TestCompletions.Unique();
        var json = TestCompletions.Make($"chatcmpl-{run}", $"model-{run}", new Dictionary<string, string> { ["run"] = run });
        await api.ImportAsync(ApiFixture.DefaultKey, [json]);

        var completion = (await api.Client().GetChatCompletionAsync($"chatcmpl-{run}", token)).Value;
        using var http = api.Http();
        var raw = await http.GetStringAsync($"/v1/chat/completions/chatcmpl-{run}", token);

        Assert.Equal($"chatcmpl-{run}", completion.Id);
        Assert.Equal(TestCompletions.Content(json), completion.Content[0].Text);
        JsonAssert.SemanticallyEqual(json, raw);
    }

    [Fact]
    public async Task A_metadata_update_is_returned_and_seen_by_later_lists()
    {
        var token = TestContext.Current.CancellationToken;
        var run = TestCompletions.Unique();
        await api.ImportAsync(ApiFixture.DefaultKey, [TestCompletions.Make($"chatcmpl-{run}", $"model-{run}", new Dictionary<string, string> { ["stage"] = "draft" })]);
        var client = api.Client();

        var updated = (await client.UpdateChatCompletionAsync($"chatcmpl-{run}", new Dictionary<string, string> { ["stage"] = "reviewed", ["by"] = "tests" }, token)).Value;
        var reviewed = await ListIdsAsync(client, new ChatCompletionCollectionOptions { Model = $"model-{run}", Metadata = { ["stage"] = "reviewed" } });
        var drafts = await ListIdsAsync(client, new ChatCompletionCollectionOptions { Model = $"model-{run}", Metadata = { ["stage"] = "draft" } });
        using var http = api.Http();
        var raw = JsonDocument.Parse(await http.GetStringAsync($"/v1/chat/completions/chatcmpl-{run}", token)).RootElement;

        Assert.Equal($"chatcmpl-{run}", updated.Id);
        Assert.Equal([$"chatcmpl-{run}"], reviewed);
        Assert.Empty(drafts);
        Assert.Equal("reviewed", raw.GetProperty("metadata").GetProperty("stage").GetString());
        Assert.Equal("tests", raw.GetProperty("metadata").GetProperty("by").GetString());
    }

    [Fact]
    public async Task Deleting_answers_with_the_deletion_object_and_the_completion_is_then_gone()
    {
        var token = TestContext.Current.CancellationToken;
        var run = TestCompletions.Unique();
        await api.ImportAsync(ApiFixture.DefaultKey, [TestCompletions.Make($"chatcmpl-{run}", $"model-{run}")]);
        var client = api.Client();

        var deleted = (await client.DeleteChatCompletionAsync($"chatcmpl-{run}", token)).Value;
        var left = await ListIdsAsync(client, new ChatCompletionCollectionOptions { Model = $"model-{run}" });
        var get = await Assert.ThrowsAsync<ClientResultException>(() => client.GetChatCompletionAsync($"chatcmpl-{run}", token));
        var again = await Assert.ThrowsAsync<ClientResultException>(() => client.DeleteChatCompletionAsync($"chatcmpl-{run}", token));

        Assert.True(deleted.Deleted);
        Assert.Equal($"chatcmpl-{run}", deleted.ChatCompletionId);
        Assert.Empty(left);
        Assert.Equal(404, get.Status);
        Assert.Equal(404, again.Status);
    }

    [Fact]
    public async Task An_unknown_id_is_a_404_in_OpenAIs_error_shape()
    {
        var token = TestContext.Current.CancellationToken;
        using var http = api.Http();

        using var response = await http.GetAsync("/v1/chat/completions/chatcmpl-missing", token);
        var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync(token)).RootElement.GetProperty("error");
        var sdk = await Assert.ThrowsAsync<ClientResultException>(() => api.Client().GetChatCompletionAsync("chatcmpl-missing", token));
        var update = await Assert.ThrowsAsync<ClientResultException>(() =>
            api.Client().UpdateChatCompletionAsync("chatcmpl-missing", new Dictionary<string, string> { ["a"] = "b" }, token));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("Completion chatcmpl-missing not found", error.GetProperty("message").GetString());
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.Equal("completion_id", error.GetProperty("param").GetString());
        Assert.Equal("not_found", error.GetProperty("code").GetString());
        Assert.Equal(404, sdk.Status);
        Assert.Equal(404, update.Status);
    }

    [Fact]
    public async Task The_list_takes_search_and_the_other_filters_beyond_OpenAIs_as_query_parameters()
    {
        var token = TestContext.Current.CancellationToken;
        var run = TestCompletions.Unique();
        var model = $"model-{run}";
        var flagged = System.Text.Json.Nodes.JsonNode.Parse(TestCompletions.Make($"chatcmpl-{run}-flagged", model))!;
        flagged["choices"]![0]!["message"]!["content"] = "Привет, мир: 100% sure";
        flagged["choices"]![0]!["finish_reason"] = "length";
        flagged["service_tier"] = "flex";
        await api.ImportAsync(ApiFixture.DefaultKey, [flagged.ToJsonString(), TestCompletions.Make($"chatcmpl-{run}-plain", model)]);
        using var http = api.Http();

        foreach (var query in new[] { "search=%D0%9C%D0%98%D0%A0", "search=0%25%20s", "finish_reason=length", "service_tier=flex", "has_tool_calls=false&finish_reason=length" })
        {
            using var response = await http.GetAsync($"/v1/chat/completions?model={model}&{query}", token);
            var data = JsonDocument.Parse(await response.Content.ReadAsStringAsync(token)).RootElement.GetProperty("data");
            Assert.Equal([$"chatcmpl-{run}-flagged"], data.EnumerateArray().Select(c => c.GetProperty("id").GetString()));
        }

        using var none = await http.GetAsync($"/v1/chat/completions?model={model}&tool=get_time", token);
        Assert.Empty(JsonDocument.Parse(await none.Content.ReadAsStringAsync(token)).RootElement.GetProperty("data").EnumerateArray());
    }

    [Theory]
    [InlineData("has_tool_calls", "yes")]
    [InlineData("min_tokens", "-1")]
    [InlineData("max_tokens", "ten")]
    [InlineData("min_latency_ms", "1.5")]
    [InlineData("max_latency_ms", "99999999999999999999")]
    public async Task A_bad_filter_value_is_a_400_naming_the_parameter(string name, string value)
    {
        var token = TestContext.Current.CancellationToken;
        using var http = api.Http();

        using var response = await http.GetAsync($"/v1/chat/completions?{name}={Uri.EscapeDataString(value)}", token);
        var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync(token)).RootElement.GetProperty("error");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(name, error.GetProperty("param").GetString());
    }

    [Fact]
    public async Task An_unknown_after_id_is_a_404_naming_after()
    {
        var token = TestContext.Current.CancellationToken;
        using var http = api.Http();

        using var response = await http.GetAsync("/v1/chat/completions?after=chatcmpl-nowhere", token);
        var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync(token)).RootElement.GetProperty("error");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("after", error.GetProperty("param").GetString());
    }

    [Fact]
    public async Task The_OpenAPI_document_describes_the_endpoints()
    {
        var token = TestContext.Current.CancellationToken;
        using var http = api.Http(key: null);

        var document = JsonDocument.Parse(await http.GetStringAsync("/openapi/v1.json", token)).RootElement;
        var paths = document.GetProperty("paths");

        Assert.True(paths.TryGetProperty("/v1/chat/completions", out var completions), paths.ToString());
        Assert.True(completions.TryGetProperty("get", out _));
        Assert.True(completions.TryGetProperty("post", out _));
        Assert.True(paths.TryGetProperty("/v1/chat/completions/{id}", out var one));
        Assert.True(one.TryGetProperty("delete", out _));
        Assert.True(paths.TryGetProperty("/v1/chat/completions/{id}/messages", out _));
        Assert.True(paths.TryGetProperty("/v1/storage/import", out _));
        Assert.Equal("bearer", document.GetProperty("components").GetProperty("securitySchemes").GetProperty("bearer").GetProperty("scheme").GetString());
    }

    [Fact]
    public async Task The_health_endpoint_reports_a_migrated_database_healthy_without_a_key()
    {
        using var http = api.Http(key: null);

        var health = await http.GetStringAsync("/health", TestContext.Current.CancellationToken);

        Assert.Equal("Healthy", health);
    }

    private static async Task<List<string>> ListIdsAsync(ChatClient client, ChatCompletionCollectionOptions options)
    {
        var ids = new List<string>();
        await foreach (var completion in client.GetChatCompletionsAsync(options, TestContext.Current.CancellationToken))
        {
            ids.Add(completion.Id);
        }

        return ids;
    }
}

using System.ClientModel;
using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using OpenAI;
using OpenAI.Chat;

namespace Storage.Api.Tests;

/// <summary>The proxy's settings: StoreAll, no upstream, an upstream that does not answer. Each test starts an API of its own on the fixture's database.</summary>
public sealed class ProxyConfigurationTests(ApiFixture api) : IClassFixture<ApiFixture>
{
    [Fact]
    public async Task With_StoreAll_a_call_without_store_true_is_stored_too()
    {
        var token = TestContext.Current.CancellationToken;
        var run = TestCompletions.Unique();
        api.Upstream.Completion = TestCompletions.Make($"chatcmpl-{run}", $"model-{run}");
        await using var app = await StartAsync(new() { ["Api:Upstream:BaseUrl"] = api.Upstream.BaseUrl.AbsoluteUri, ["Api:Upstream:StoreAll"] = "true" });

        await Client(app).CompleteChatAsync([new UserChatMessage("Hi")], new ChatCompletionOptions(), token);
        var stored = (await Client(app).GetChatCompletionAsync($"chatcmpl-{run}", token)).Value;

        Assert.Equal($"chatcmpl-{run}", stored.Id);
    }

    [Fact]
    public async Task Without_an_upstream_the_proxy_answers_501_in_OpenAIs_error_shape()
    {
        var token = TestContext.Current.CancellationToken;
        await using var app = await StartAsync([]);
        using var http = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };
        using var content = new StringContent("""{"model":"m","messages":[]}""", Encoding.UTF8, "application/json");

        using var response = await http.PostAsync("/v1/chat/completions", content, token);
        var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync(token)).RootElement.GetProperty("error");

        Assert.Equal(HttpStatusCode.NotImplemented, response.StatusCode);
        Assert.Equal("upstream_not_configured", error.GetProperty("code").GetString());
    }

    [Fact]
    public async Task An_upstream_that_does_not_answer_is_a_502()
    {
        var token = TestContext.Current.CancellationToken;
        await using var app = await StartAsync(new() { ["Api:Upstream:BaseUrl"] = "http://127.0.0.1:1/v1" });
        using var http = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };
        using var content = new StringContent("""{"model":"m","messages":[]}""", Encoding.UTF8, "application/json");

        using var response = await http.PostAsync("/v1/chat/completions", content, token);
        var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync(token)).RootElement.GetProperty("error");

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Equal("upstream_unreachable", error.GetProperty("code").GetString());
    }

    /// <summary>An API without keys (so on loopback only) on the fixture's database, with these settings.</summary>
    private async Task<WebApplication> StartAsync(Dictionary<string, string?> settings)
    {
        settings["Urls"] = "http://127.0.0.1:0";
        settings["ConnectionStrings:Storage"] = api.ConnectionString;
        return await ApiFixture.StartApiAsync(settings, TestContext.Current.CancellationToken);
    }

    private static ChatClient Client(WebApplication app) =>
        new("gpt-4o-mini", new ApiKeyCredential("unused"), new OpenAIClientOptions { Endpoint = new Uri(new Uri(app.Urls.First()), "v1") });
}

using System.ClientModel;
using System.Net;
using System.Text.Json;
using OpenAI.Chat;

namespace Storage.Api.Tests;

/// <summary>Bearer keys from Api:Keys: 401 without a valid one, and a tenant's key sees only that tenant's completions.</summary>
public sealed class AuthenticationTests(ApiFixture api) : IClassFixture<ApiFixture>
{
    [Theory]
    [InlineData(null)]
    [InlineData("sk-wrong")]
    [InlineData("")]
    public async Task A_request_without_a_valid_key_is_a_401_in_OpenAIs_error_shape(string? key)
    {
        var token = TestContext.Current.CancellationToken;
        using var http = api.Http(key: null);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/chat/completions");
        if (key is not null)
        {
            request.Headers.TryAddWithoutValidation("Authorization", $"Bearer {key}");
        }

        using var response = await http.SendAsync(request, token);
        var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync(token)).RootElement.GetProperty("error");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("invalid_api_key", error.GetProperty("code").GetString());
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
    }

    [Fact]
    public async Task The_SDK_with_a_wrong_key_gets_a_401_on_every_endpoint()
    {
        var token = TestContext.Current.CancellationToken;
        var client = api.Client("sk-wrong");
        var forwarded = api.Upstream.Requests.Count;

        var list = await Assert.ThrowsAsync<ClientResultException>(async () =>
        {
            await foreach (var completion in client.GetChatCompletionsAsync(cancellationToken: token))
            {
                Assert.Fail($"listed {completion.Id}");
            }
        });
        var get = await Assert.ThrowsAsync<ClientResultException>(() => client.GetChatCompletionAsync("chatcmpl-x", token));
        var delete = await Assert.ThrowsAsync<ClientResultException>(() => client.DeleteChatCompletionAsync("chatcmpl-x", token));
        var proxy = await Assert.ThrowsAsync<ClientResultException>(() => client.CompleteChatAsync([new UserChatMessage("Hi")], cancellationToken: token));

        Assert.All(new[] { list, get, delete, proxy }, error => Assert.Equal(401, error.Status));
        Assert.Equal(forwarded, api.Upstream.Requests.Count);
    }

    [Fact]
    public async Task Two_tenants_keys_never_see_each_others_completions()
    {
        var token = TestContext.Current.CancellationToken;
        var run = TestCompletions.Unique();
        var model = $"model-{run}";
        await api.ImportAsync(ApiFixture.AcmeKey, [TestCompletions.Make($"chatcmpl-{run}-acme", model)]);
        await api.ImportAsync(ApiFixture.GlobexKey, [TestCompletions.Make($"chatcmpl-{run}-globex", model)]);
        var acme = api.Client(ApiFixture.AcmeKey);
        var globex = api.Client(ApiFixture.GlobexKey);

        var acmeSees = await ListIdsAsync(acme, model);
        var globexSees = await ListIdsAsync(globex, model);
        var defaultSees = await ListIdsAsync(api.Client(), model);
        var crossGet = await Assert.ThrowsAsync<ClientResultException>(() => globex.GetChatCompletionAsync($"chatcmpl-{run}-acme", token));
        var crossUpdate = await Assert.ThrowsAsync<ClientResultException>(() =>
            globex.UpdateChatCompletionAsync($"chatcmpl-{run}-acme", new Dictionary<string, string> { ["taken"] = "yes" }, token));
        var crossDelete = await Assert.ThrowsAsync<ClientResultException>(() => globex.DeleteChatCompletionAsync($"chatcmpl-{run}-acme", token));
        var stillThere = (await acme.GetChatCompletionAsync($"chatcmpl-{run}-acme", token)).Value;

        Assert.Equal([$"chatcmpl-{run}-acme"], acmeSees);
        Assert.Equal([$"chatcmpl-{run}-globex"], globexSees);
        Assert.Empty(defaultSees);
        Assert.Equal(404, crossGet.Status);
        Assert.Equal(404, crossUpdate.Status);
        Assert.Equal(404, crossDelete.Status);
        Assert.Equal($"chatcmpl-{run}-acme", stillThere.Id);
    }

    [Fact]
    public async Task A_completion_recorded_through_a_tenants_key_belongs_to_that_tenant()
    {
        var token = TestContext.Current.CancellationToken;
        var run = TestCompletions.Unique();
        api.Upstream.Completion = TestCompletions.Make($"chatcmpl-{run}", $"model-{run}");

        await api.Client(ApiFixture.AcmeKey).CompleteChatAsync(
            [new UserChatMessage("Hi")], new ChatCompletionOptions { StoredOutputEnabled = true }, token);
        var acme = (await api.Client(ApiFixture.AcmeKey).GetChatCompletionAsync($"chatcmpl-{run}", token)).Value;
        var globex = await Assert.ThrowsAsync<ClientResultException>(() => api.Client(ApiFixture.GlobexKey).GetChatCompletionAsync($"chatcmpl-{run}", token));

        Assert.Equal($"chatcmpl-{run}", acme.Id);
        Assert.Equal(404, globex.Status);
        Assert.Equal($"Bearer {ApiFixture.UpstreamKey}", api.Upstream.LastAuthorization);
    }

    private static async Task<List<string>> ListIdsAsync(ChatClient client, string model)
    {
        var ids = new List<string>();
        await foreach (var completion in client.GetChatCompletionsAsync(new ChatCompletionCollectionOptions { Model = model }, TestContext.Current.CancellationToken))
        {
            ids.Add(completion.Id);
        }

        return ids;
    }
}

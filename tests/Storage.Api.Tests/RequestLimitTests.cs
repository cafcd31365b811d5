using System.Net;
using System.Text;
using System.Text.Json;

namespace Storage.Api.Tests;

/// <summary>Malformed input is a 400 and an oversized body a 413, both in OpenAI's error shape.</summary>
public sealed class RequestLimitTests(ApiFixture api) : IClassFixture<ApiFixture>
{
    [Theory]
    [InlineData("POST", "/v1/chat/completions", "{\"model\": \"m\", \"messages\": [")]
    [InlineData("POST", "/v1/chat/completions", "not json at all")]
    [InlineData("POST", "/v1/chat/completions", "[1, 2]")]
    [InlineData("POST", "/v1/chat/completions/chatcmpl-x", "{\"metadata\": {\"a\": }")]
    [InlineData("POST", "/v1/chat/completions/chatcmpl-x", "{\"metadata\": {\"a\": 1}}")]
    [InlineData("POST", "/v1/chat/completions/chatcmpl-x", "{\"other\": {}}")]
    [InlineData("GET", "/v1/chat/completions?limit=0", null)]
    [InlineData("GET", "/v1/chat/completions?limit=101", null)]
    [InlineData("GET", "/v1/chat/completions?limit=ten", null)]
    [InlineData("GET", "/v1/chat/completions?order=sideways", null)]
    public async Task Malformed_input_is_a_400_invalid_request_error(string method, string path, string? body)
    {
        var token = TestContext.Current.CancellationToken;
        using var http = api.Http();
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        }

        var forwarded = api.Upstream.Requests;
        using var response = await http.SendAsync(request, token);
        var text = await response.Content.ReadAsStringAsync(token);
        var error = JsonDocument.Parse(text).RootElement.GetProperty("error");

        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, text);
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.False(string.IsNullOrWhiteSpace(error.GetProperty("message").GetString()));
        Assert.Equal(forwarded, api.Upstream.Requests);
    }

    [Theory]
    [InlineData("/v1/chat/completions?limit=0", "limit")]
    [InlineData("/v1/chat/completions?order=up", "order")]
    public async Task A_bad_query_parameter_is_named_in_param(string path, string param)
    {
        var token = TestContext.Current.CancellationToken;
        using var http = api.Http();

        using var response = await http.GetAsync(path, token);
        var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync(token)).RootElement.GetProperty("error");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(param, error.GetProperty("param").GetString());
    }

    [Theory]
    [InlineData("/v1/chat/completions")]
    [InlineData("/v1/storage/import")]
    [InlineData("/v1/chat/completions/chatcmpl-x")]
    public async Task A_body_over_the_limit_is_a_413_in_OpenAIs_error_shape(string path)
    {
        var token = TestContext.Current.CancellationToken;
        using var http = api.Http();
        var big = "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"" + new string('x', ApiFixture.MaxRequestBodyBytes) + "\"}]}";
        using var content = new StringContent(big, Encoding.UTF8, "application/json");

        var forwarded = api.Upstream.Requests;
        using var response = await http.PostAsync(path, content, token);
        var text = await response.Content.ReadAsStringAsync(token);
        var error = JsonDocument.Parse(text).RootElement.GetProperty("error");

        Assert.True(response.StatusCode == HttpStatusCode.RequestEntityTooLarge, text);
        Assert.Equal("request_too_large", error.GetProperty("code").GetString());
        Assert.Contains(ApiFixture.MaxRequestBodyBytes.ToString(System.Globalization.CultureInfo.InvariantCulture), error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(forwarded, api.Upstream.Requests);
    }

    [Fact]
    public async Task A_streamed_body_over_the_limit_without_a_length_is_a_413_too()
    {
        var token = TestContext.Current.CancellationToken;
        using var http = api.Http();
        var big = Encoding.UTF8.GetBytes(TestCompletions.Lines(Enumerable.Repeat(TestCompletions.Sample, ApiFixture.MaxRequestBodyBytes / 500)));
        using var content = new StreamContent(new MemoryStream(big));
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/x-ndjson");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/storage/import") { Content = content };
        request.Headers.TransferEncodingChunked = true;

        using var response = await http.SendAsync(request, token);
        var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync(token)).RootElement.GetProperty("error");

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal("request_too_large", error.GetProperty("code").GetString());
    }

    [Theory]
    [InlineData("GET", "/v1/no/such/route")]
    [InlineData("PUT", "/v1/chat/completions/chatcmpl-x")]
    public async Task Routes_and_methods_that_do_not_exist_answer_in_OpenAIs_error_shape(string method, string path)
    {
        var token = TestContext.Current.CancellationToken;
        using var http = api.Http();

        using var response = await http.SendAsync(new HttpRequestMessage(new HttpMethod(method), path), token);
        var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync(token)).RootElement.GetProperty("error");

        Assert.True((int)response.StatusCode is 404 or 405, response.StatusCode.ToString());
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
    }
}

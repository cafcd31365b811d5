using System.Net;
using System.Text.Json;

namespace Storage.Api.Tests;

/// <summary>
/// OpenAI's organisation Usage and Costs shapes (the official .NET SDK has no calls for them, so plain HTTP), checked
/// member by member against the documented examples, scoped by the caller's tenant, and paged with next_page.
/// </summary>
public sealed class OrganizationUsageTests(ApiFixture api) : IClassFixture<ApiFixture>
{
    private const long Day0 = 1_899_936_000; // a UTC midnight no other test uses
    private const long Day = 86_400;
    private const string Priced = "gpt-4o-mini-2024-07-18";

    // The members of OpenAI's documented examples.
    private static readonly string[] PageMembers = ["object", "data", "has_more", "next_page"];
    private static readonly string[] BucketMembers = ["object", "start_time", "end_time", "results"];
    private static readonly string[] UsageMembers =
        ["object", "input_tokens", "output_tokens", "input_cached_tokens", "input_audio_tokens", "output_audio_tokens", "num_model_requests", "project_id", "user_id", "api_key_id", "model", "batch", "service_tier"];
    private static readonly string[] CostMembers = ["object", "amount", "line_item", "project_id"];

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Usage_and_costs_have_OpenAIs_shapes_for_the_callers_tenant_only()
    {
        var run = TestCompletions.Unique();
        var unpriced = $"model-{run}";
        await api.ImportAsync(ApiFixture.AcmeKey,
        [
            TestCompletions.Make($"chatcmpl-{run}-1", Priced, created: Day0 + 10),
            TestCompletions.Make($"chatcmpl-{run}-2", Priced, created: Day0 + 20),
            TestCompletions.Make($"chatcmpl-{run}-3", unpriced, created: Day0 + 30),
            TestCompletions.Make($"chatcmpl-{run}-4", Priced, created: Day0 + Day + 5),
        ]);
        await api.ImportAsync(ApiFixture.GlobexKey, [TestCompletions.Make($"chatcmpl-{run}-globex", Priced, created: Day0 + 40)]);

        using var usage = await GetAsync($"/v1/organization/usage/completions?start_time={Day0}&end_time={Day0 + (3 * Day)}&bucket_width=1d&group_by=model");
        var page = usage.RootElement;
        Assert.Equal(PageMembers, Members(page));
        Assert.Equal("page", page.GetProperty("object").GetString());
        Assert.False(page.GetProperty("has_more").GetBoolean());
        Assert.Equal(JsonValueKind.Null, page.GetProperty("next_page").ValueKind);
        var buckets = page.GetProperty("data").EnumerateArray().ToList();
        Assert.Equal([Day0, Day0 + Day, Day0 + (2 * Day)], buckets.Select(b => b.GetProperty("start_time").GetInt64()));
        Assert.All(buckets, b => Assert.Equal(BucketMembers, Members(b)));
        Assert.All(buckets, b => Assert.Equal("bucket", b.GetProperty("object").GetString()));
        Assert.Equal(Day0 + Day, buckets[0].GetProperty("end_time").GetInt64());

        // The sample's usage is 48 prompt and 15 completion tokens; globex's completion is not acme's.
        var first = buckets[0].GetProperty("results").EnumerateArray().ToList();
        Assert.All(first, r => Assert.Equal(UsageMembers, Members(r)));
        Assert.All(first, r => Assert.Equal("organization.usage.completions.result", r.GetProperty("object").GetString()));
        var priced = first.Single(r => r.GetProperty("model").GetString() == Priced);
        Assert.Equal(96, priced.GetProperty("input_tokens").GetInt64());
        Assert.Equal(30, priced.GetProperty("output_tokens").GetInt64());
        Assert.Equal(0, priced.GetProperty("input_cached_tokens").GetInt64());
        Assert.Equal(2, priced.GetProperty("num_model_requests").GetInt64());
        Assert.Equal(1, first.Single(r => r.GetProperty("model").GetString() == unpriced).GetProperty("num_model_requests").GetInt64());
        Assert.Equal(1, buckets[1].GetProperty("results").GetArrayLength());
        Assert.Equal(0, buckets[2].GetProperty("results").GetArrayLength());

        // Costs per day: 48 × 0.00000015 + 15 × 0.0000006 = 0.0000162 a completion (the default table); unpriced adds nothing.
        using var costs = await GetAsync($"/v1/organization/costs?start_time={Day0}&end_time={Day0 + (2 * Day)}");
        var costBuckets = costs.RootElement.GetProperty("data").EnumerateArray().ToList();
        var result = Assert.Single(costBuckets[0].GetProperty("results").EnumerateArray());
        Assert.Equal(CostMembers, Members(result));
        Assert.Equal("organization.costs.result", result.GetProperty("object").GetString());
        Assert.Equal(0.0000324m, result.GetProperty("amount").GetProperty("value").GetDecimal());
        Assert.Equal("usd", result.GetProperty("amount").GetProperty("currency").GetString());
        Assert.Equal(JsonValueKind.Null, result.GetProperty("line_item").ValueKind);
        Assert.Equal(0.0000162m, Assert.Single(costBuckets[1].GetProperty("results").EnumerateArray()).GetProperty("amount").GetProperty("value").GetDecimal());

        using var byLineItem = await GetAsync($"/v1/organization/costs?start_time={Day0}&end_time={Day0 + Day}&group_by=line_item");
        var items = byLineItem.RootElement.GetProperty("data")[0].GetProperty("results").EnumerateArray().ToList();
        Assert.Equal(0.0000324m, items.Single(i => i.GetProperty("line_item").GetString() == Priced).GetProperty("amount").GetProperty("value").GetDecimal());
    }

    [Fact]
    public async Task Pages_of_buckets_follow_next_page_to_the_end()
    {
        var starts = new List<long>();
        string? next = null;
        do
        {
            using var page = await GetAsync($"/v1/organization/usage/completions?start_time={Day0}&end_time={Day0 + (5 * Day)}&bucket_width=1h&limit=48" + (next is null ? "" : $"&page={next}"));
            starts.AddRange(page.RootElement.GetProperty("data").EnumerateArray().Select(b => b.GetProperty("start_time").GetInt64()));
            next = page.RootElement.GetProperty("has_more").GetBoolean() ? page.RootElement.GetProperty("next_page").GetString() : null;
        }
        while (next is not null);

        Assert.Equal(Enumerable.Range(0, 5 * 24).Select(h => Day0 + (h * 3600L)), starts);
    }

    [Theory]
    [InlineData("/v1/organization/usage/completions", "start_time")]
    [InlineData("/v1/organization/usage/completions?start_time=1899936000&bucket_width=2d", "bucket_width")]
    [InlineData("/v1/organization/usage/completions?start_time=1764000000&limit=32", "limit")]
    [InlineData("/v1/organization/usage/completions?start_time=1899936000&group_by=line_item", "group_by")]
    [InlineData("/v1/organization/costs?start_time=1899936000&bucket_width=1h", "bucket_width")]
    [InlineData("/v1/organization/costs?start_time=1764000000&page=page_1", "page")]
    public async Task A_wrong_parameter_is_a_400_that_names_it(string path, string param)
    {
        using var http = api.Http(ApiFixture.AcmeKey);
        using var response = await http.GetAsync(path, Token);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Token));
        Assert.Equal(param, body.RootElement.GetProperty("error").GetProperty("param").GetString());
    }

    private async Task<JsonDocument> GetAsync(string path)
    {
        using var http = api.Http(ApiFixture.AcmeKey);
        using var response = await http.GetAsync(path, Token);
        var body = await response.Content.ReadAsStringAsync(Token);
        Assert.True(response.IsSuccessStatusCode, body);
        return JsonDocument.Parse(body);
    }

    private static string[] Members(JsonElement element) => [.. element.EnumerateObject().Select(p => p.Name)];
}

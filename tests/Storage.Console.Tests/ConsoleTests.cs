using System.Globalization;
using System.Text.Json;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Storage.Console.Tests;

/// <summary>
/// The web console in a real browser (Debian's Chromium through Playwright), against the API on a loopback port over
/// the class's own database. JavaScript is off except where a test must prove that stored script does not run.
/// Every test works under names or days of its own, and writes a screenshot under artifacts/console/.
/// </summary>
public sealed class ConsoleTests(ConsoleFixture console) : IClassFixture<ConsoleFixture>
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task The_list_is_newest_first_pages_by_keyset_and_filters_by_model_metadata_and_created_range_in_the_URL()
    {
        var run = TestCompletions.Unique();
        var model = $"list-{run}";
        var created = Enumerable.Range(0, 5).Select(i => DateTimeOffset.FromUnixTimeSeconds(1_764_200_000 + (i * 60))).ToList();
        var ids = Enumerable.Range(0, 5).Select(i => $"chatcmpl-{run}-{i}").ToList();
        for (var i = 0; i < 5; i++)
        {
            var completion = Seed.Completion(ids[i], model, created[i], $"answer {i}",
                new Dictionary<string, string> { ["team"] = i % 2 == 0 ? "red" : "blue" }, (10, 5));
            // The newest is priced (a cost its vendor reported); the others are unpriced.
            completion.Usage!.AdditionalProperties = i == 4 ? new Dictionary<string, JsonElement> { ["cost"] = JsonElement.Parse("0.0042") } : null;
            completion.Call = new ChatCompletionCall { StartedAt = created[i], Latency = TimeSpan.FromMilliseconds(100 + i) };
            await console.Store.SaveAsync(completion, Token);
        }

        await using var session = await console.OpenAsync();
        var page = session.Page;
        var rows = page.GetByTestId("completions").Locator("tbody tr");

        await page.GotoAsync($"/console?model={model}&limit=2");
        await Expect(rows).ToHaveCountAsync(2);
        Assert.Equal([ids[4], ids[3]], await RowIdsAsync(rows));
        await Expect(rows.First.Locator("td").Nth(2)).ToHaveTextAsync("answer 4");
        await Expect(rows.First.Locator("td").Nth(3)).ToHaveTextAsync("15");
        await Expect(rows.First.Locator("td").Nth(4)).ToHaveTextAsync("$0.0042");
        await Expect(rows.First.Locator("td").Nth(5)).ToHaveTextAsync("104 ms");
        await Expect(rows.Nth(1).Locator("td").Nth(4)).ToHaveTextAsync("—");

        await page.GetByRole(AriaRole.Link, new() { Name = "Older »" }).ClickAsync();
        await Expect(rows).ToHaveCountAsync(2);
        Assert.Equal([ids[2], ids[1]], await RowIdsAsync(rows));
        await page.GetByRole(AriaRole.Link, new() { Name = "Older »" }).ClickAsync();
        await Expect(rows).ToHaveCountAsync(1);
        Assert.Equal([ids[0]], await RowIdsAsync(rows));
        await Expect(page.GetByRole(AriaRole.Link, new() { Name = "Older »" })).ToHaveCountAsync(0);
        await Expect(page.GetByRole(AriaRole.Link, new() { Name = "« Newest" })).ToBeVisibleAsync();

        // The form writes the filters into the URL, so the view can be bookmarked.
        await page.GotoAsync("/console");
        await page.GetByLabel("Model").FillAsync(model);
        await page.GetByLabel("Metadata").Last.FillAsync("team=red");
        await page.GetByRole(AriaRole.Button, new() { Name = "Apply" }).ClickAsync();
        await Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("model=" + model + ".*meta=team%3Dred"));
        await Expect(rows).ToHaveCountAsync(3);
        Assert.Equal([ids[4], ids[2], ids[0]], await RowIdsAsync(rows));
        await session.ScreenshotAsync("list");

        var bookmark = $"/console?model={model}&from={Stamp(created[1])}&to={Stamp(created[3])}";
        await page.GotoAsync(bookmark);
        await Expect(rows).ToHaveCountAsync(3);
        Assert.Equal([ids[3], ids[2], ids[1]], await RowIdsAsync(rows));
        await Expect(page.GetByLabel("Created from")).ToHaveValueAsync(Stamp(created[1]));
    }

    [Fact]
    public async Task The_list_filters_by_search_text_in_any_script_finish_reason_tool_and_service_tier_and_paging_keeps_the_filters()
    {
        var run = TestCompletions.Unique();
        var model = $"filters-{run}";
        var ids = Enumerable.Range(0, 6).Select(i => $"chatcmpl-{run}-{i}").ToList();
        DateTimeOffset Created(int i) => DateTimeOffset.FromUnixTimeSeconds(1_764_900_000 + (i * 60));
        ChatCompletion[] seeded =
        [
            Seed.Completion(ids[0], model, Created(0), "Здравствуйте, мир!"),
            Seed.ToolCall(ids[1], model, Created(1), "get_weather", "{\"city\":\"Paris\"}"),
            Seed.ToolCall(ids[2], model, Created(2), "get_time", "{\"zone\":\"Europe/Paris\"}"),
            Seed.Completion(ids[3], model, Created(3), "明天的天气预报：晴"),
            Seed.ToolCall(ids[4], model, Created(4), "get_weather", "{\"city\":\"Berlin\"}"),
            Seed.Completion(ids[5], model, Created(5), "The answer was cut"),
        ];
        seeded[5].Choices[0].FinishReason = "length";
        seeded[5].ServiceTier = "flex";
        foreach (var completion in seeded)
        {
            await console.Store.SaveAsync(completion, Token);
        }

        await using var session = await console.OpenAsync();
        var page = session.Page;
        var rows = page.GetByTestId("completions").Locator("tbody tr");

        // Typed into the form: Cyrillic from inside a word, in the other case, goes into the URL and back into the field.
        await page.GotoAsync($"/console?model={model}");
        await Expect(rows).ToHaveCountAsync(6);
        await page.GetByLabel("Search").FillAsync("ДРАВСТВ");
        await page.GetByRole(AriaRole.Button, new() { Name = "Apply" }).ClickAsync();
        await Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("search=%D0%94%D0%A0%D0%90%D0%92%D0%A1%D0%A2%D0%92"));
        await Expect(rows).ToHaveCountAsync(1);
        Assert.Equal([ids[0]], await RowIdsAsync(rows));
        await Expect(page.GetByLabel("Search")).ToHaveValueAsync("ДРАВСТВ");

        // Chinese from inside a sentence, and a tool call's arguments, both found by search.
        await page.GotoAsync($"/console?model={model}&search={Uri.EscapeDataString("天气预")}");
        await Expect(rows).ToHaveCountAsync(1);
        Assert.Equal([ids[3]], await RowIdsAsync(rows));
        await page.GotoAsync($"/console?model={model}&search=berlin");
        await Expect(rows).ToHaveCountAsync(1);
        Assert.Equal([ids[4]], await RowIdsAsync(rows));

        await page.GotoAsync($"/console?model={model}&finish_reason=length");
        await Expect(rows).ToHaveCountAsync(1);
        Assert.Equal([ids[5]], await RowIdsAsync(rows));

        // Through the form: the tool's name, then the tool-calls choice.
        await page.GotoAsync($"/console?model={model}");
        await page.GetByLabel("Tool", new() { Exact = true }).FillAsync("get_weather");
        await page.GetByRole(AriaRole.Button, new() { Name = "Apply" }).ClickAsync();
        await Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("tool=get_weather"));
        await Expect(rows).ToHaveCountAsync(2);
        Assert.Equal([ids[4], ids[1]], await RowIdsAsync(rows));
        await page.GotoAsync($"/console?model={model}&has_tool_calls=false");
        await Expect(rows).ToHaveCountAsync(3);
        Assert.Equal([ids[5], ids[3], ids[0]], await RowIdsAsync(rows));
        await Expect(page.GetByLabel("Tool calls")).ToHaveValueAsync("false");
        await page.GotoAsync($"/console?model={model}&service_tier=flex");
        await Expect(rows).ToHaveCountAsync(1);
        Assert.Equal([ids[5]], await RowIdsAsync(rows));

        // Paging keeps every filter: the next page's link carries them, and the form still shows them there.
        await page.GotoAsync($"/console?model={model}&finish_reason=tool_calls&search=paris&limit=1");
        await Expect(rows).ToHaveCountAsync(1);
        Assert.Equal([ids[2]], await RowIdsAsync(rows));
        await page.GetByRole(AriaRole.Link, new() { Name = "Older »" }).ClickAsync();
        await Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex($"search=paris&model={model}&finish_reason=tool_calls&limit=1&after={ids[2]}$"));
        await Expect(rows).ToHaveCountAsync(1);
        Assert.Equal([ids[1]], await RowIdsAsync(rows));
        await Expect(page.GetByLabel("Search")).ToHaveValueAsync("paris");
        await Expect(page.GetByLabel("Finish reason")).ToHaveValueAsync("tool_calls");
        await Expect(page.GetByRole(AriaRole.Link, new() { Name = "Older »" })).ToHaveCountAsync(0);
        await session.ScreenshotAsync("list-filters");

        // A value no stored text can hold, or a flag that is neither true nor false, is named, not a server error.
        var nul = await page.GotoAsync($"/console?model={model}&search=a%00b");
        Assert.Equal(400, nul!.Status);
        await Expect(page.GetByTestId("notice")).ToHaveTextAsync("Search (search): holds a NUL character (U+0000, %00 in the URL), which no stored text can hold.");
        await Expect(page.GetByTestId("completions")).ToHaveCountAsync(0);
        var flag = await page.GotoAsync($"/console?model={model}&has_tool_calls=maybe");
        Assert.Equal(400, flag!.Status);
        await Expect(page.GetByTestId("notice")).ToContainTextAsync("Tool calls (has_tool_calls) 'maybe': expected true");
    }

    [Fact]
    public async Task A_completion_shows_its_request_tool_calls_with_pretty_arguments_reasoning_usage_timing_and_raw_JSON()
    {
        var run = TestCompletions.Unique();
        var id = $"chatcmpl-{run}-tools";
        await console.Store.SaveAsync(Seed.ToolsAndReasoning(id, $"tools-{run}"), Token);
        await using var session = await console.OpenAsync();
        var page = session.Page;

        await page.GotoAsync($"/console?model=tools-{run}");
        await page.GetByRole(AriaRole.Link, new() { Name = "2025-11-28" }).ClickAsync();

        await Expect(page.GetByTestId("completion-id")).ToHaveTextAsync(id);
        await Expect(page.GetByTestId("request-message")).ToHaveCountAsync(4);
        await Expect(page.GetByTestId("request-message").Nth(2)).ToContainTextAsync("get_time");
        await Expect(page.GetByTestId("reasoning")).ToContainTextAsync("so I call the weather tool for three days.");
        await Expect(page.GetByTestId("tool-name")).ToHaveTextAsync("get_weather");
        var arguments = await page.GetByTestId("tool-call").Locator("pre").First.InnerTextAsync();
        Assert.Equal("{\n  \"city\": \"Paris\",\n  \"days\": 3\n}", arguments.Trim());
        await Expect(page.GetByTestId("finish-reason")).ToHaveTextAsync("tool_calls");
        await Expect(page.GetByTestId("annotations").GetByRole(AriaRole.Link, new() { Name = "Paris forecast" })).ToHaveAttributeAsync("href", "https://example.com/paris");
        await Expect(page.GetByTestId("logprobs")).ToContainTextAsync("2 tokens, mean log probability -1");
        await Expect(page.GetByTestId("reasoning-tokens")).ToHaveTextAsync("48");
        await Expect(page.GetByTestId("usage")).ToContainTextAsync("Cached prompt tokens64");
        await Expect(page.GetByTestId("latency")).ToHaveTextAsync("1.25 s");
        await Expect(page.GetByTestId("usage")).ToContainTextAsync("Time to first token400 ms");
        await Expect(page.GetByTestId("trace-id")).ToHaveTextAsync("4bf92f3577b34da6a3ce929d0e0e4736");
        await session.ScreenshotAsync("completion");

        await page.GetByTestId("raw").ClickAsync();
        var raw = JsonDocument.Parse(await page.Locator("body").InnerTextAsync()).RootElement;
        Assert.Equal(id, raw.GetProperty("id").GetString());
        Assert.Equal("{\"city\":\"Paris\",\"days\":3}",
            raw.GetProperty("choices")[0].GetProperty("message").GetProperty("tool_calls")[0].GetProperty("function").GetProperty("arguments").GetString());
    }

    [Fact]
    public async Task Metadata_is_saved_from_the_form_and_a_save_over_a_stale_version_is_refused_with_a_clear_message()
    {
        var run = TestCompletions.Unique();
        var id = $"chatcmpl-{run}-meta";
        await console.Store.SaveAsync(Seed.Completion(id, $"meta-{run}", DateTimeOffset.FromUnixTimeSeconds(1_764_400_000),
            metadata: new Dictionary<string, string> { ["stage"] = "draft" }), Token);
        await using var session = await console.OpenAsync();
        var page = session.Page;

        await page.GotoAsync($"/console/completion?id={id}");
        await Expect(page.GetByLabel("Value 1")).ToHaveValueAsync("draft");
        await page.GetByLabel("Value 1").FillAsync("reviewed");
        await page.GetByLabel("Key 2").FillAsync("owner");
        await page.GetByLabel("Value 2").FillAsync("ops");
        await page.GetByRole(AriaRole.Button, new() { Name = "Save metadata" }).ClickAsync();
        await Expect(page.GetByTestId("notice")).ToHaveTextAsync("Metadata saved.");
        Assert.Equal(new Dictionary<string, string> { ["owner"] = "ops", ["stage"] = "reviewed" }, (await console.Store.GetAsync(id, Token))!.Metadata);

        // Someone else saves after this page was loaded: the page's version is now stale.
        await page.ReloadAsync();
        await console.Store.UpdateMetadataAsync(id, new Dictionary<string, string> { ["stage"] = "shipped" }, cancellationToken: Token);
        await page.GetByLabel("Value 1").FillAsync("mine");
        await page.GetByRole(AriaRole.Button, new() { Name = "Save metadata" }).ClickAsync();

        await Expect(page.GetByTestId("notice")).ToContainTextAsync("Not saved: this completion changed after you opened it");
        await Expect(page.GetByLabel("Value 1")).ToHaveValueAsync("shipped");
        Assert.Equal(new Dictionary<string, string> { ["stage"] = "shipped" }, (await console.Store.GetAsync(id, Token))!.Metadata);
        await session.ScreenshotAsync("metadata-stale");
    }

    [Fact]
    public async Task Deleting_asks_for_confirmation_first_then_deletes()
    {
        var run = TestCompletions.Unique();
        var id = $"chatcmpl-{run}-delete";
        await console.Store.SaveAsync(Seed.Completion(id, $"delete-{run}", DateTimeOffset.FromUnixTimeSeconds(1_764_500_000)), Token);
        await using var session = await console.OpenAsync();
        var page = session.Page;

        await page.GotoAsync($"/console/completion?id={id}");
        await page.GetByRole(AriaRole.Link, new() { Name = "Delete…" }).ClickAsync();
        await Expect(page.GetByTestId("confirm-delete")).ToContainTextAsync("This cannot be undone.");
        Assert.NotNull(await console.Store.GetAsync(id, Token));
        await session.ScreenshotAsync("delete-confirm");

        await page.GetByTestId("confirm-delete").GetByRole(AriaRole.Button, new() { Name = "Delete" }).ClickAsync();
        await Expect(page.GetByTestId("notice")).ToHaveTextAsync("The completion was deleted.");
        Assert.Null(await console.Store.GetAsync(id, Token));
        await page.GotoAsync($"/console?model=delete-{run}");
        await Expect(page.GetByTestId("empty")).ToBeVisibleAsync();
    }

    [Fact]
    public async Task The_usage_chart_stacks_each_days_tokens_and_cost_by_model_with_the_seeded_totals_in_the_table()
    {
        // Days no other test of the class uses; costs as the vendor reported them (usage.cost), so they are exact.
        var run = TestCompletions.Unique();
        var a = $"usage-a-{run}";
        var b = $"usage-b-{run}";
        (string Model, string Created, long Prompt, long Output, string Cost)[] seeded =
        [
            (a, "2024-02-10T08:00:00Z", 100, 20, "0.001"),
            (a, "2024-02-10T09:00:00Z", 200, 40, "0.002"),
            (b, "2024-02-10T10:00:00Z", 50, 10, "0.0005"),
            (a, "2024-02-12T23:59:59Z", 1000, 500, "0.01"),
        ];
        for (var i = 0; i < seeded.Length; i++)
        {
            var (model, created, prompt, output, cost) = seeded[i];
            await console.Store.SaveAsync(ChatCompletionJson.Parse($$$"""
                {"id":"chatcmpl-{{{run}}}-{{{i}}}","object":"chat.completion","created":{{{DateTimeOffset.Parse(created, CultureInfo.InvariantCulture).ToUnixTimeSeconds()}}},"model":"{{{model}}}",
                 "choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],
                 "usage":{"prompt_tokens":{{{prompt}}},"completion_tokens":{{{output}}},"total_tokens":{{{prompt + output}}},"cost":{{{cost}}}}}
                """), Token);
        }

        await using var session = await console.OpenAsync();
        var page = session.Page;
        await page.GotoAsync("/console/usage?from=2024-02-10&to=2024-02-12");

        var rows = page.GetByTestId("usage-table").Locator("tbody tr");
        await Expect(rows).ToHaveCountAsync(3);
        await Expect(rows.Nth(0)).ToHaveTextAsync(Row("2024-02-10", a, "2", "300", "60", "360", "0", "0", "$0.003", "0"));
        await Expect(rows.Nth(1)).ToHaveTextAsync(Row("2024-02-10", b, "1", "50", "10", "60", "0", "0", "$0.0005", "0"));
        await Expect(rows.Nth(2)).ToHaveTextAsync(Row("2024-02-12", a, "1", "1,000", "500", "1,500", "0", "0", "$0.01", "0"));
        await Expect(page.GetByTestId("usage-total")).ToHaveTextAsync(Row("Total", "4", "1,350", "570", "1,920", "0", "0", "$0.0135", "0"));

        // One bar per model and day with usage, each titled with its number; a stack per day.
        var tokenBars = page.GetByTestId("tokens-chart").Locator("rect");
        await Expect(tokenBars).ToHaveCountAsync(3);
        Assert.Equal(
            [$"2024-02-10 · {a}: 360", $"2024-02-10 · {b}: 60", $"2024-02-12 · {a}: 1,500"],
            await tokenBars.Locator("title").AllTextContentsAsync());
        Assert.Equal(
            [$"2024-02-10 · {a}: $0.003", $"2024-02-10 · {b}: $0.0005", $"2024-02-12 · {a}: $0.01"],
            await page.GetByTestId("cost-chart").Locator("rect title").AllTextContentsAsync());
        // The day's bars stack: the second model's bar sits on top of the first's.
        var first = await BoxAsync(tokenBars.Nth(0));
        var second = await BoxAsync(tokenBars.Nth(1));
        Assert.Equal(first.Y, second.Y + second.Height, 1);
        Assert.Equal(first.Height / 6, second.Height, 1);
        await session.ScreenshotAsync("usage");
    }

    [Fact]
    public async Task A_tenants_key_sees_only_that_tenants_completions()
    {
        var run = TestCompletions.Unique();
        var model = $"tenant-{run}";
        await console.Store.ForTenant(ConsoleFixture.AcmeTenant).SaveAsync(
            Seed.Completion($"chatcmpl-{run}-acme", model, DateTimeOffset.FromUnixTimeSeconds(1_764_600_000)), Token);
        await console.Store.SaveAsync(Seed.Completion($"chatcmpl-{run}-default", model, DateTimeOffset.FromUnixTimeSeconds(1_764_600_001)), Token);
        await using var session = await console.OpenAsync(ConsoleFixture.AcmeKey);
        var page = session.Page;

        await page.GotoAsync($"/console?model={model}");
        await Expect(page.GetByTestId("tenant")).ToHaveTextAsync("tenant acme");
        var rows = page.GetByTestId("completions").Locator("tbody tr");
        await Expect(rows).ToHaveCountAsync(1);
        Assert.Equal([$"chatcmpl-{run}-acme"], await RowIdsAsync(rows));

        var other = await page.GotoAsync($"/console/completion?id=chatcmpl-{run}-default");
        Assert.Equal(404, other!.Status);
        await Expect(page.GetByTestId("notice")).ToContainTextAsync("No completion with this id is stored here");
        await session.ScreenshotAsync("tenant");
    }

    [Fact]
    public async Task A_wrong_key_is_refused_and_without_a_sign_in_every_page_leads_to_the_login()
    {
        await using var session = await console.OpenAsync(key: null);
        var page = session.Page;

        await page.GotoAsync("/console/usage");
        await Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("/console/login\\?returnUrl=%2Fconsole%2Fusage$"));
        await session.LogInAsync("sk-wrong");
        await Expect(page.GetByTestId("notice")).ToHaveTextAsync("That key is not one of this API's keys.");
        await Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("/console/login"));
        Assert.DoesNotContain(await session.Page.Context.CookiesAsync(), cookie => cookie.Name == "storage_console");
        await session.ScreenshotAsync("login-refused");

        await page.GotoAsync("/console");
        await Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("/console/login"));

        // The right key signs in, the cookie is HttpOnly and SameSite=Strict, and logging out ends it.
        await session.LogInAsync(ConsoleFixture.DefaultKey);
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Completions" })).ToBeVisibleAsync();
        var cookie = Assert.Single(await page.Context.CookiesAsync(), cookie => cookie.Name == "storage_console");
        Assert.True(cookie.HttpOnly);
        Assert.Equal(SameSiteAttribute.Strict, cookie.SameSite);
        Assert.DoesNotContain(ConsoleFixture.DefaultKey, cookie.Value, StringComparison.Ordinal);
        await page.GetByRole(AriaRole.Button, new() { Name = "Log out" }).ClickAsync();
        await Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("/console/login$"));
        await page.GotoAsync("/console");
        await Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("/console/login"));
    }

    [Fact]
    public async Task A_form_posted_without_its_antiforgery_token_changes_nothing()
    {
        var run = TestCompletions.Unique();
        var id = $"chatcmpl-{run}-forged";
        await console.Store.SaveAsync(Seed.Completion(id, $"forged-{run}", DateTimeOffset.FromUnixTimeSeconds(1_764_700_000)), Token);
        await using var session = await console.OpenAsync();

        // The signed-in browser's cookies, but a form from elsewhere: no token.
        var delete = await session.Page.Context.APIRequest.PostAsync($"/console/completion?id={id}&handler=delete",
            new APIRequestContextOptions { Form = session.Page.Context.APIRequest.CreateFormData(), MaxRedirects = 0 });
        var save = await session.Page.Context.APIRequest.PostAsync($"/console/completion?id={id}&handler=metadata",
            new APIRequestContextOptions { Form = session.Page.Context.APIRequest.CreateFormData().Set("key", "taken").Set("value", "yes"), MaxRedirects = 0 });

        Assert.Equal(400, delete.Status);
        Assert.Equal(400, save.Status);
        var stored = await console.Store.GetAsync(id, Token);
        Assert.NotNull(stored);
        Assert.Null(stored.Metadata);
        await session.Page.SetContentAsync(await delete.TextAsync());
        await session.ScreenshotAsync("antiforgery-refused");
    }

    [Fact]
    public async Task Stored_markup_and_script_are_shown_as_text_and_never_run()
    {
        var run = TestCompletions.Unique();
        const string Script = "<script>window.__pwned = 'script'</script>";
        const string Image = "<img src=x onerror=\"window.__pwned = 'img'\">";
        const string Arabic = "مرحبا بالعالم";
        var id = $"chatcmpl-{run}-hostile";
        var hostile = Seed.Completion(id, $"hostile-{run}", DateTimeOffset.FromUnixTimeSeconds(1_764_800_000), $"{Script}\n{Image}\n{Arabic}",
            new Dictionary<string, string> { ["note"] = Image });
        hostile.Choices[0].Message.Annotations =
        [
            new ChatAnnotation { Type = "url_citation", UrlCitation = new ChatUrlCitation { Url = "javascript:window.__pwned='link'", Title = "click me", StartIndex = 0, EndIndex = 1 } },
        ];
        hostile.Call = new ChatCompletionCall
        {
            StartedAt = DateTimeOffset.FromUnixTimeSeconds(1_764_800_000),
            Request = JsonElement.Parse(JsonSerializer.Serialize(new { messages = new[] { new { role = "user", content = Script + Image } } })),
        };
        await console.Store.SaveAsync(hostile, Token);
        var longId = $"chatcmpl-{run}-long";
        await console.Store.SaveAsync(Seed.Completion(longId, $"hostile-{run}", DateTimeOffset.FromUnixTimeSeconds(1_764_800_001),
            new string('x', 30_000) + "END-OF-LONG-TEXT"), Token);

        // JavaScript on: the payloads would run if they reached the page as markup.
        await using var session = await console.OpenAsync(javaScript: true);
        var page = session.Page;
        var listed = await page.GotoAsync($"/console?model=hostile-{run}");
        Assert.Contains("default-src 'none'", await listed!.HeaderValueAsync("content-security-policy") ?? "", StringComparison.Ordinal);
        await Expect(page.Locator($"tr[data-id='{id}'] td.snippet")).ToContainTextAsync(Script);

        var opened = await page.GotoAsync($"/console/completion?id={id}");
        var content = page.GetByTestId("choice").Locator("pre").First;
        await Expect(content).ToContainTextAsync(Script);
        await Expect(content).ToContainTextAsync(Image);
        await Expect(content).ToHaveAttributeAsync("dir", "auto");
        await Expect(page.GetByTestId("request-message").Locator("pre")).ToHaveTextAsync(Script + Image);
        await Expect(page.GetByLabel("Value 1")).ToHaveValueAsync(Image);
        await Expect(page.GetByTestId("annotations")).ToContainTextAsync("javascript:window.__pwned='link'");
        Assert.Equal(0, await page.Locator("a[href^='javascript']").CountAsync());
        Assert.Equal(0, await page.Locator("main img, main script, body script").CountAsync());
        Assert.Null(await page.EvaluateAsync<string?>("() => window.__pwned ?? null"));
        Assert.Equal(200, opened!.Status);
        await session.ScreenshotAsync("hostile");

        // Very long content is cut, with a way to see all of it.
        await page.GotoAsync($"/console/completion?id={longId}");
        await Expect(page.GetByText("Cut at 20,000 of 30,016 characters.")).ToBeVisibleAsync();
        await Expect(page.GetByTestId("choice")).Not.ToContainTextAsync("END-OF-LONG-TEXT");
        await page.GetByRole(AriaRole.Link, new() { Name = "Show everything" }).ClickAsync();
        await Expect(page.GetByTestId("choice")).ToContainTextAsync("END-OF-LONG-TEXT");
    }

    [Fact]
    public async Task Without_configured_keys_the_console_opens_on_loopback_without_a_login_as_the_API_does()
    {
        await using var app = await ConsoleFixture.StartApiAsync(new Dictionary<string, string?>
        {
            ["ConnectionStrings:Storage"] = console.ConnectionString,
            ["Urls"] = "http://127.0.0.1:0",
        }, Token);
        await using var session = await console.OpenAsync(key: null, baseAddress: new Uri(app.Urls.First()));
        var page = session.Page;

        await page.GotoAsync("/console/login");
        await Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("/console$"));
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Completions" })).ToBeVisibleAsync();
        await Expect(page.GetByTestId("tenant")).ToHaveTextAsync("default store");
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Log out" })).ToHaveCountAsync(0);
        await session.ScreenshotAsync("anonymous");
        await app.StopAsync(Token);
    }

    private static string Stamp(DateTimeOffset instant) => instant.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture);

    /// <summary>A table row's text as the locator reads it: cells one space apart.</summary>
    private static string Row(params string[] cells) => string.Join(" ", cells);

    private static async Task<IReadOnlyList<string?>> RowIdsAsync(ILocator rows)
    {
        var ids = new List<string?>();
        for (var i = 0; i < await rows.CountAsync(); i++)
        {
            ids.Add(await rows.Nth(i).GetAttributeAsync("data-id"));
        }

        return ids;
    }

    private static async Task<LocatorBoundingBoxResult> BoxAsync(ILocator locator) =>
        await locator.BoundingBoxAsync() ?? throw new InvalidOperationException("The bar is not drawn.");
}

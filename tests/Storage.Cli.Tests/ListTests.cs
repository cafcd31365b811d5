using System.Text.Json;

namespace Storage.Cli.Tests;

/// <summary><c>storage list</c>: OpenAI's list shape, keyset paging with --after, and the filters.</summary>
public sealed class ListTests(MigratedDatabase database) : IClassFixture<MigratedDatabase>, IAsyncLifetime
{
    private static readonly DateTimeOffset Start = DateTimeOffset.FromUnixTimeSeconds(1_700_000_000);

    // 23 completions over 12 seconds, so several share a created second and pages split such groups.
    private static readonly IReadOnlyList<(string Id, DateTimeOffset Created, string Model, string Tenant)> Stored =
        Enumerable.Range(0, 23)
            .Select(i => ($"list-{i:D2}", Start.AddSeconds(i / 2), i % 3 == 0 ? "model-a" : "model-b", i % 2 == 0 ? "acme" : "globex"))
            .ToList();

    public async ValueTask InitializeAsync()
    {
        var lines = Stored.Select(c => TestCompletions.Json(c.Id, c.Created, c.Model, new Dictionary<string, string> { ["tenant"] = c.Tenant }));
        var imported = await database.RunWithInputAsync(string.Join('\n', lines), "import", "-");
        Assert.True(imported.ExitCode == 0, imported.ToString());
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    [Theory]
    [InlineData("asc")]
    [InlineData("desc")]
    public async Task Walking_the_pages_with_after_gives_every_completion_once_in_created_order(string order)
    {
        var seen = new List<(string Id, long Created)>();
        string? after = null;
        for (var pages = 1; ; pages++)
        {
            Assert.True(pages <= 10, "The walk does not end.");
            string[] args = after is null ? ["list", "--limit", "5", "--order", order] : ["list", "--limit", "5", "--order", order, "--after", after];
            var result = await database.RunAsync(args);
            Assert.True(result.ExitCode == 0, result.ToString());
            using var page = JsonDocument.Parse(result.Out);
            var root = page.RootElement;
            Assert.Equal("list", root.GetProperty("object").GetString());
            var items = root.GetProperty("data").EnumerateArray()
                .Select(c => (c.GetProperty("id").GetString()!, c.GetProperty("created").GetInt64()))
                .ToList();
            Assert.Equal(items[0].Item1, root.GetProperty("first_id").GetString());
            Assert.Equal(items[^1].Item1, root.GetProperty("last_id").GetString());
            seen.AddRange(items);
            if (!root.GetProperty("has_more").GetBoolean())
            {
                break;
            }

            after = root.GetProperty("last_id").GetString();
        }

        Assert.Equal(Stored.Select(c => c.Id).Order(), seen.Select(c => c.Id).Order());
        var created = seen.Select(c => c.Created).ToList();
        Assert.Equal(order == "asc" ? created.Order() : created.OrderDescending(), created);
    }

    [Fact]
    public async Task An_empty_page_has_null_ids_and_no_more()
    {
        var result = await database.RunAsync("list", "--model", "no-such-model");

        Assert.True(result.ExitCode == 0, result.ToString());
        JsonAssert.SemanticallyEqual("""{"object":"list","data":[],"first_id":null,"last_id":null,"has_more":false}""", result.Out);
    }

    [Fact]
    public async Task Filters_select_by_model_metadata_and_an_inclusive_created_range()
    {
        var from = Start.AddSeconds(2);
        var to = Start.AddSeconds(5);

        var result = await database.RunAsync(
            "list", "--limit", "100", "--model", "model-b", "--metadata", "tenant=acme",
            "--created-after", from.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture),
            "--created-before", to.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture));

        Assert.True(result.ExitCode == 0, result.ToString());
        using var page = JsonDocument.Parse(result.Out);
        var ids = page.RootElement.GetProperty("data").EnumerateArray().Select(c => c.GetProperty("id").GetString()).Order();
        var expected = Stored.Where(c => c.Model == "model-b" && c.Tenant == "acme" && c.Created >= from && c.Created <= to).Select(c => c.Id).Order();
        Assert.NotEmpty(expected);
        Assert.Equal(expected, ids);
    }

    [Fact]
    public async Task An_unknown_after_id_is_a_clean_failure()
    {
        var result = await database.RunAsync("list", "--after", "no-such-id");

        Cli.AssertCleanFailure(result);
        Assert.Contains("no-such-id", result.Error, StringComparison.Ordinal);
    }
}

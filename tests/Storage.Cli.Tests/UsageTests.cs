using System.Globalization;
using System.Text.Json;

namespace Storage.Cli.Tests;

/// <summary><c>storage usage</c> sums what was imported, as computed here from the input files.</summary>
public sealed class UsageTests(MigratedDatabase database) : IClassFixture<MigratedDatabase>, IAsyncLifetime
{
    private static readonly IReadOnlyList<Input> Inputs = Fixtures.AllCompletionFiles.Select(Input.Read).ToList();

    public async ValueTask InitializeAsync()
    {
        var imported = await database.RunAsync(["import", .. Fixtures.AllCompletionFiles]);
        Assert.True(imported.ExitCode == 0, imported.ToString());
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    [Fact]
    public async Task Totals_by_model_equal_the_sums_of_the_input()
    {
        var result = await database.RunAsync("usage", "--group-by", "model", "--json");

        Assert.True(result.ExitCode == 0, result.ToString());
        var expected = Inputs.GroupBy(i => i.Model).ToDictionary(g => g.Key, Sums);
        var actual = Rows(result.Out).ToDictionary(row => row.GetProperty("model").GetString()!, Totals);
        Assert.Equal(expected.OrderBy(p => p.Key, StringComparer.Ordinal), actual.OrderBy(p => p.Key, StringComparer.Ordinal));
    }

    [Fact]
    public async Task Totals_by_day_and_metadata_key_equal_the_sums_of_the_input()
    {
        var result = await database.RunAsync("usage", "--group-by", "day", "--group-by", "metadata.tenant", "--json");

        Assert.True(result.ExitCode == 0, result.ToString());
        var expected = Inputs.GroupBy(i => (i.Day, i.Tenant)).ToDictionary(g => g.Key, Sums);
        var actual = Rows(result.Out).ToDictionary(
            row => (row.GetProperty("day").GetString()!, row.GetProperty("metadata.tenant").GetString()),
            Totals);
        Assert.Equal(expected.Count, actual.Count);
        foreach (var (key, sums) in expected)
        {
            Assert.Equal(sums, actual[key]);
        }
    }

    [Fact]
    public async Task Totals_over_a_created_range_count_only_that_range()
    {
        var from = Inputs.Min(i => i.Created) + 1;
        var to = Inputs.Max(i => i.Created) - 1;

        var result = await database.RunAsync(
            "usage", "--json", "--created-after", from.ToString(CultureInfo.InvariantCulture), "--created-before", to.ToString(CultureInfo.InvariantCulture));

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(Sums(Inputs.Where(i => i.Created >= from && i.Created <= to)), Totals(Assert.Single(Rows(result.Out))));
    }

    [Fact]
    public async Task The_table_has_a_header_and_a_line_per_group()
    {
        var result = await database.RunAsync("usage", "--group-by", "model");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Matches(@"^model\s+completions\s+prompt_tokens\s+completion_tokens\s+total_tokens\s+cost\s+unpriced$", result.OutLines[0]);
        Assert.Equal(Inputs.Select(i => i.Model).Distinct().Count() + 1, result.OutLines.Count);
        var hello = Inputs.Where(i => i.Model == "gpt-4o-mini-2024-07-18").ToList();
        var sums = Sums(hello);
        Assert.Contains(result.OutLines, line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Take(5)
            .SequenceEqual(["gpt-4o-mini-2024-07-18", .. new[] { sums.Completions, sums.Prompt, sums.Completion, sums.Total }.Select(n => n.ToString(CultureInfo.InvariantCulture))]));
    }

    private static List<JsonElement> Rows(string json) => JsonDocument.Parse(json).RootElement.EnumerateArray().ToList();

    private static Sum Totals(JsonElement row) => new(
        row.GetProperty("completions").GetInt64(),
        row.GetProperty("prompt_tokens").GetInt64(),
        row.GetProperty("completion_tokens").GetInt64(),
        row.GetProperty("total_tokens").GetInt64());

    private static Sum Sums(IEnumerable<Input> inputs) => new(
        inputs.LongCount(), inputs.Sum(i => i.Prompt), inputs.Sum(i => i.Completion), inputs.Sum(i => i.Total));

    private sealed record Sum(long Completions, long Prompt, long Completion, long Total);

    private sealed record Input(string Model, long Created, string Day, string? Tenant, long Prompt, long Completion, long Total)
    {
        public static Input Read(string file)
        {
            using var document = JsonDocument.Parse(File.ReadAllText(file));
            var root = document.RootElement;
            var created = root.GetProperty("created").GetInt64();
            var usage = root.TryGetProperty("usage", out var u) && u.ValueKind == JsonValueKind.Object ? u : default;
            long Tokens(string name) => usage.ValueKind == JsonValueKind.Object && usage.TryGetProperty(name, out var n) ? n.GetInt64() : 0;
            var tenant = root.TryGetProperty("metadata", out var metadata) && metadata.ValueKind == JsonValueKind.Object
                && metadata.TryGetProperty("tenant", out var t) ? t.GetString() : null;
            return new Input(
                root.GetProperty("model").GetString()!,
                created,
                DateTimeOffset.FromUnixTimeSeconds(created).UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
                tenant,
                Tokens("prompt_tokens"),
                Tokens("completion_tokens"),
                Tokens("total_tokens"));
        }
    }
}

using System.Text.Json;

namespace Storage.Cli.Tests;

/// <summary><c>storage prices import</c>, <c>storage prices list</c>, <c>storage reprice</c> and the cost in <c>storage usage --json</c>.</summary>
public sealed class PricesTests(MigratedDatabase database) : IClassFixture<MigratedDatabase>
{
    [Fact]
    public async Task An_imported_price_file_is_listed_and_reprice_moves_the_totals()
    {
        var model = "cli-model-" + TestCompletions.Unique();
        var imported = await database.RunWithInputAsync(TestCompletions.Lines([TestCompletions.Make("chatcmpl-" + TestCompletions.Unique(), model)]), "import", "-");
        Assert.True(imported.ExitCode == 0, imported.ToString());
        var before = await UsageAsync(model);
        Assert.Equal(0m, before.GetProperty("cost").GetDecimal());
        Assert.Equal(1, before.GetProperty("unpriced").GetInt64());

        using var file = new TemporaryFile(".json", $$$"""
            {"sample_spec": {"input_cost_per_token": 9}, "{{{model}}}": {"input_cost_per_token": 1e-06, "output_cost_per_token": 2e-06, "mode": "chat"},
             "embedding-{{{model}}}": {"input_cost_per_token": 1e-06, "mode": "embedding"}}
            """);
        var import = await database.RunAsync("prices", "import", file.Path, "--effective-from", "2026-12-01T00:00:00Z");
        Assert.True(import.ExitCode == 0, import.ToString());
        Assert.Contains("imported 2 prices of 1 models, effective from 2026-12-01T00:00:00Z", import.Out, StringComparison.Ordinal);
        var list = await database.RunAsync("prices", "list");
        Assert.Matches($@"(?m)^{model}\s+input_cost_per_token\s+0\.000001\s+2026-12-01T00:00:00Z\s+database$", list.Out);
        Assert.Matches(@"(?m)^gpt-4o\s+input_cost_per_token\s+0\.0000025\s+2025-10-15T00:00:00Z\s+default$", list.Out);

        var reprice = await database.RunAsync("reprice", "--model", model);
        Assert.True(reprice.ExitCode == 0, reprice.ToString());
        Assert.Contains("repriced 1 completions", reprice.Out, StringComparison.Ordinal);
        // 48 prompt tokens × 0.000001 + 15 completion tokens × 0.000002 (the first price also covers earlier completions)
        var after = await UsageAsync(model);
        Assert.Equal(0.000078m, after.GetProperty("cost").GetDecimal());
        Assert.Equal(0, after.GetProperty("unpriced").GetInt64());
    }

    [Fact]
    public async Task A_file_that_is_not_a_price_file_is_one_line_and_exit_1()
    {
        using var file = new TemporaryFile(".json", """{"m": {"input_cost_per_token": "cheap"}}""");
        var result = await database.RunAsync("prices", "import", file.Path);
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("'m'.input_cost_per_token is not a number", result.Error, StringComparison.Ordinal);
    }

    private async Task<JsonElement> UsageAsync(string model)
    {
        var result = await database.RunAsync("usage", "--model", model, "--json");
        Assert.True(result.ExitCode == 0, result.ToString());
        return JsonDocument.Parse(result.Out).RootElement[0].Clone();
    }
}

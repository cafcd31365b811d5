using System.CommandLine;
using System.Globalization;

namespace Storage.Cli.Commands;

/// <summary><c>storage prices import FILE [--effective-from TIME]</c> and <c>storage prices list</c></summary>
internal static class PricesCommand
{
    public static Command Create(CliContext context)
    {
        var file = new Argument<string>("FILE") { Description = "A price file in the format of LiteLLM's model_prices_and_context_window.json." };
        var effectiveFrom = CliOptions.Time("--effective-from", "From when the prices hold (default: now); completions created earlier keep theirs");
        var import = new Command("import", "Write the prices of a LiteLLM-format price file into the database's price table (as the schema's owner).") { file, effectiveFrom };
        context.SetAction(import, async (parsed, cancellationToken) =>
        {
            PriceTable table;
            try
            {
                table = await PriceTable.LoadAsync(parsed.GetValue(file)!, cancellationToken);
            }
            catch (Exception e) when (e is FormatException or IOException or UnauthorizedAccessException)
            {
                throw new CliException($"{parsed.GetValue(file)}: {e.Message}");
            }

            var from = parsed.GetValue(effectiveFrom) ?? DateTimeOffset.UtcNow;
            await using var store = await context.OpenStoreAsync(parsed, cancellationToken);
            var written = await store.ImportPricesAsync(table, from, cancellationToken);
            await context.Console.Out.WriteLineAsync(
                $"imported {written} prices of {table.Models.Count} models, effective from {from.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture)}");
            return ExitCodes.Success;
        });

        var list = new Command("list", "Print the database's price table (USD per token), then the models only the default table prices.");
        context.SetAction(list, async (parsed, cancellationToken) =>
        {
            await using var store = await context.OpenStoreAsync(parsed, cancellationToken);
            var prices = await store.ListPricesAsync(cancellationToken);
            var named = prices.Select(p => p.Model).ToHashSet(StringComparer.Ordinal);
            var rows = prices.Select(p => (p, "database"))
                .Concat(PriceTable.Default.ToPrices(PriceTable.DefaultDate).Where(p => !named.Contains(p.Model)).Select(p => (p, "default")))
                .Select(r => new[]
                {
                    r.p.Model, r.p.Member, r.p.UsdPerToken.ToString("0.############################", CultureInfo.InvariantCulture),
                    r.p.EffectiveFrom.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture), r.Item2,
                })
                .Prepend(["model", "class", "usd_per_token", "effective_from", "table"])
                .ToList();
            var widths = Enumerable.Range(0, 5).Select(column => rows.Max(row => row[column].Length)).ToArray();
            foreach (var row in rows)
            {
                await context.Console.Out.WriteLineAsync(string.Join("  ", row.Select((cell, column) => cell.PadRight(widths[column]))).TrimEnd());
            }

            return ExitCodes.Success;
        });

        return new Command("prices", "The prices that completions are costed with.") { import, list };
    }
}

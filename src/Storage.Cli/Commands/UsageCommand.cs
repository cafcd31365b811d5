using System.CommandLine;
using System.Globalization;
using System.Text.Json;

namespace Storage.Cli.Commands;

/// <summary><c>storage usage [--group-by model|day|metadata.KEY]... [filters] [--json]</c></summary>
internal static class UsageCommand
{
    private const string Model = "model";
    private const string Day = "day";
    private const string MetadataPrefix = "metadata.";

    private static readonly string[] TotalColumns = ["completions", "prompt_tokens", "completion_tokens", "total_tokens", "cost", "unpriced"];

    public static Command Create(CliContext context)
    {
        var filters = new FilterOptions(createdRange: true);
        var groupBy = new Option<string[]>("--group-by")
        {
            Description = "Group by model, day (UTC) or metadata.KEY; repeat to combine (one metadata key at most).",
            HelpName = "model|day|metadata.KEY",
            Arity = ArgumentArity.ZeroOrMore,
            DefaultValueFactory = _ => [],
        };
        groupBy.Validators.Add(result =>
        {
            var groups = result.GetValueOrDefault<string[]>() ?? [];
            if (groups.FirstOrDefault(group => group is not (Model or Day) && !IsMetadataGroup(group)) is { } unknown)
            {
                result.AddError($"--group-by: '{unknown}' is not model, day or metadata.KEY.");
            }
            else if (groups.Count(IsMetadataGroup) > 1)
            {
                result.AddError("--group-by: only one metadata key can be grouped by.");
            }
            else if (groups.Distinct(StringComparer.Ordinal).Count() != groups.Length)
            {
                result.AddError("--group-by: a grouping is given twice.");
            }
        });
        var json = new Option<bool>("--json") { Description = "Print a JSON array instead of a table." };

        var command = new Command("usage", "Sum token usage over the stored completions, optionally grouped.") { groupBy };
        filters.AddTo(command);
        command.Options.Add(json);
        context.SetAction(command, async (parsed, cancellationToken) =>
        {
            var groups = parsed.GetValue(groupBy)!;
            await using var store = await context.OpenStoreAsync(parsed, cancellationToken);
            var rows = await store.GetUsageAsync(filters.Read(parsed), Grouping(groups), cancellationToken);
            await (parsed.GetValue(json)
                ? WriteJsonAsync(context.Console.Out, groups, rows, cancellationToken)
                : WriteTableAsync(context.Console.Out, groups, rows, cancellationToken));
            return ExitCodes.Success;
        });
        return command;
    }

    public static ChatCompletionUsageGrouping Grouping(IReadOnlyCollection<string> groups) => new()
    {
        ByModel = groups.Contains(Model),
        ByDay = groups.Contains(Day),
        ByMetadataKey = groups.FirstOrDefault(IsMetadataGroup)?[MetadataPrefix.Length..],
    };

    /// <summary>Writes the totals as an aligned table: the group columns in the order given, then the sums.</summary>
    public static async Task WriteTableAsync(
        TextWriter output, IReadOnlyList<string> groups, IReadOnlyList<ChatCompletionUsageTotals> rows, CancellationToken cancellationToken)
    {
        string[] header = [.. groups, .. TotalColumns];
        var cells = rows
            .Select(row => groups.Select(group => GroupValue(row, group) ?? "(none)").Concat(Totals(row).Select((value, column) => Format(value, TotalColumns[column]))).ToArray())
            .Prepend(header)
            .ToList();
        var widths = header.Select((_, column) => cells.Max(line => line[column].Length)).ToArray();
        foreach (var line in cells)
        {
            // Group values read left to right; numbers line up on the right.
            var text = string.Join("  ", line.Select((cell, column) => column < groups.Count ? cell.PadRight(widths[column]) : cell.PadLeft(widths[column])));
            await output.WriteLineAsync(text.TrimEnd().AsMemory(), cancellationToken);
        }
    }

    private static Task WriteJsonAsync(
        TextWriter output, IReadOnlyList<string> groups, IReadOnlyList<ChatCompletionUsageTotals> rows, CancellationToken cancellationToken) =>
        JsonOutput.WriteAsync(output, json =>
        {
            json.WriteStartArray();
            foreach (var row in rows)
            {
                json.WriteStartObject();
                foreach (var group in groups)
                {
                    json.WriteString(group, GroupValue(row, group));
                }

                foreach (var (name, value) in TotalColumns.Zip(Totals(row)))
                {
                    json.WriteNumber(name, value);
                }

                json.WriteEndObject();
            }

            json.WriteEndArray();
        }, cancellationToken);

    private static bool IsMetadataGroup(string group) =>
        group.StartsWith(MetadataPrefix, StringComparison.Ordinal) && group.Length > MetadataPrefix.Length;

    private static string? GroupValue(ChatCompletionUsageTotals row, string group) => group switch
    {
        Model => row.Model,
        Day => row.Day?.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
        _ => row.MetadataValue,
    };

    private static decimal[] Totals(ChatCompletionUsageTotals row) =>
        [row.Completions, row.PromptTokens, row.CompletionTokens, row.TotalTokens, row.Cost, row.Unpriced];

    // The cost in dollars as stored, exact (no rounding, no trailing zeros); token counts as integers.
    private static string Format(decimal value, string column) =>
        column == "cost" ? value.ToString("0.############################", CultureInfo.InvariantCulture) : value.ToString("0", CultureInfo.InvariantCulture);
}

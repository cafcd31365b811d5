using System.CommandLine;
using System.Globalization;

namespace Storage.Cli.Commands;

/// <summary><c>storage partitions [--ensure] [--months-ahead N] [--json]</c></summary>
internal static class PartitionsCommand
{
    private static readonly string[] Header = ["table", "partition", "from", "to", "rows", "bytes"];

    public static Command Create(CliContext context)
    {
        var ensure = new Option<bool>("--ensure") { Description = "First make the partitions that are missing (the schema's storage_ensure_partitions)." };
        var monthsAhead = new Option<int>("--months-ahead")
        {
            Description = "With --ensure: how many months ahead of now to make partitions (0-120).",
            HelpName = "N",
            DefaultValueFactory = _ => ChatCompletionStore.DefaultPartitionMonthsAhead,
        };
        monthsAhead.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int>() is < 0 or > 120)
            {
                result.AddError("--months-ahead must be between 0 and 120.");
            }
        });
        var json = new Option<bool>("--json") { Description = "Print a JSON array instead of a table." };

        var command = new Command(
            "partitions",
            "List the partitions of both tables with their bounds, estimated rows (the planner's, empty until analyzed) and bytes; --ensure makes the missing ones.")
        {
            ensure, monthsAhead, json,
        };
        context.SetAction(command, async (parsed, cancellationToken) =>
        {
            await using var store = await context.OpenStoreAsync(parsed, cancellationToken);
            if (parsed.GetValue(ensure))
            {
                var made = await store.EnsurePartitionsAsync(parsed.GetValue(monthsAhead), cancellationToken);
                await context.Console.Error.WriteLineAsync($"made the partitions of {made} period(s)");
            }

            var partitions = await store.ListPartitionsAsync(cancellationToken);
            await (parsed.GetValue(json)
                ? WriteJsonAsync(context.Console.Out, partitions, cancellationToken)
                : WriteTableAsync(context.Console.Out, partitions, cancellationToken));
            return ExitCodes.Success;
        });
        return command;
    }

    private static async Task WriteTableAsync(TextWriter output, IReadOnlyList<ChatCompletionPartition> partitions, CancellationToken cancellationToken)
    {
        var cells = partitions
            .Select(p => new[] { p.Table, p.Name, Time(p.From, p.IsDefault), Time(p.To, p.IsDefault), p.EstimatedRows?.ToString(CultureInfo.InvariantCulture) ?? "", p.Bytes.ToString(CultureInfo.InvariantCulture) })
            .Prepend(Header)
            .ToList();
        var widths = Header.Select((_, column) => cells.Max(line => line[column].Length)).ToArray();
        foreach (var line in cells)
        {
            var text = string.Join("  ", line.Select((cell, column) => column < 4 ? cell.PadRight(widths[column]) : cell.PadLeft(widths[column])));
            await output.WriteLineAsync(text.TrimEnd().AsMemory(), cancellationToken);
        }
    }

    private static Task WriteJsonAsync(TextWriter output, IReadOnlyList<ChatCompletionPartition> partitions, CancellationToken cancellationToken) =>
        JsonOutput.WriteAsync(output, json =>
        {
            json.WriteStartArray();
            foreach (var p in partitions)
            {
                json.WriteStartObject();
                json.WriteString("table", p.Table);
                json.WriteString("partition", p.Name);
                json.WriteBoolean("default", p.IsDefault);
                WriteTime(json, "from", p.From);
                WriteTime(json, "to", p.To);
                if (p.EstimatedRows is { } rows)
                {
                    json.WriteNumber("rows", rows);
                }
                else
                {
                    json.WriteNull("rows");
                }

                json.WriteNumber("bytes", p.Bytes);
                json.WriteEndObject();
            }

            json.WriteEndArray();
        }, cancellationToken);

    private static void WriteTime(System.Text.Json.Utf8JsonWriter json, string name, DateTimeOffset? time)
    {
        if (time is { } value)
        {
            json.WriteString(name, Format(value));
        }
        else
        {
            json.WriteNull(name);
        }
    }

    private static string Time(DateTimeOffset? time, bool isDefault) => time is { } value ? Format(value) : isDefault ? "(default)" : "";

    private static string Format(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
}

using System.CommandLine;

namespace Storage.Cli.Commands;

/// <summary><c>storage export [--format completions|chat-finetune|eval] [filters]</c></summary>
internal static class ExportCommand
{
    private const string Completions = "completions";
    private const string FineTune = "chat-finetune";
    private const string Eval = "eval";

    public static Command Create(CliContext context)
    {
        var filters = new FilterOptions(createdRange: true);
        var format = new Option<string>("--format")
        {
            Description = "completions: the stored completions; chat-finetune: OpenAI's chat fine-tuning lines (the request's messages and "
                + "the answer); eval: evaluation items (the request's messages and the ideal answer). The last two skip completions stored "
                + "without a request and count them on standard error.",
            DefaultValueFactory = _ => Completions,
        };
        format.AcceptOnlyFromAmong(Completions, FineTune, Eval);
        var command = new Command(
            "export",
            "Print every matching completion as JSON Lines, oldest first, streamed. Importing the output into an empty database "
            + "reproduces it.")
        {
            format,
        };
        filters.AddTo(command);
        context.SetAction(command, async (parsed, cancellationToken) =>
        {
            await using var store = await context.OpenStoreAsync(parsed, cancellationToken);
            var filter = filters.Read(parsed);
            var chosen = parsed.GetValue(format);
            if (chosen == Completions)
            {
                await foreach (var completion in store.ExportAsync(filter, cancellationToken))
                {
                    await context.Console.Out.WriteLineAsync(ChatCompletionJson.Serialize(completion).AsMemory(), cancellationToken);
                }

                return ExitCodes.Success;
            }

            var lines = chosen == FineTune ? store.ExportFineTuningAsync(filter, cancellationToken) : store.ExportEvalAsync(filter, cancellationToken);
            var skipped = new Dictionary<string, long>(StringComparer.Ordinal);
            long written = 0;
            await foreach (var line in lines)
            {
                if (line.Json is { } json)
                {
                    written++;
                    await context.Console.Out.WriteLineAsync(json.AsMemory(), cancellationToken);
                }
                else
                {
                    skipped[line.Skipped!] = skipped.GetValueOrDefault(line.Skipped!) + 1;
                }
            }

            await context.Console.Error.WriteLineAsync(
                $"exported {written}, skipped {skipped.Values.Sum()}" + string.Concat(skipped.Select(pair => $"; {pair.Value} with {pair.Key}")));
            return ExitCodes.Success;
        });
        return command;
    }
}

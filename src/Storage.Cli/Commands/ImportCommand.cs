using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Storage.Cli.Import;

namespace Storage.Cli.Commands;

/// <summary><c>storage import PATH...</c>, or <c>storage import --batch-input IN.jsonl --batch-output OUT.jsonl</c></summary>
internal static class ImportCommand
{
    public static Command Create(CliContext context)
    {
        var paths = new Argument<string[]>("PATH")
        {
            Description = "A .json file (one completion or an array of them), a .jsonl file (one completion a line), "
                + "or - for JSON Lines on standard input.",
            Arity = ArgumentArity.ZeroOrMore,
        };
        var batchInput = new Option<string?>("--batch-input")
        {
            Description = "An OpenAI Batch API input file: its requests are stored with the completions of --batch-output.",
            HelpName = "IN.jsonl",
        };
        var batchOutput = new Option<string?>("--batch-output")
        {
            Description = "The Batch API output file of that job: each successful line's completion is stored with its request; "
                + "failed and non-200 lines are reported and skipped.",
            HelpName = "OUT.jsonl",
        };
        var command = new Command(
            "import",
            "Store completions. Idempotent: one already stored is skipped. A bad line or document is reported on standard error "
            + "and the rest are still stored; the exit code is 1 if anything was rejected.")
        {
            paths, batchInput, batchOutput,
        };
        command.Validators.Add(result =>
        {
            var batch = (result.GetValue(batchInput) is null ? 0 : 1) + (result.GetValue(batchOutput) is null ? 0 : 1);
            var given = result.GetValue(paths) is { Length: > 0 };
            if (batch == 1)
            {
                result.AddError("Give --batch-input and --batch-output together.");
            }
            else if (batch == 2 && given)
            {
                result.AddError("Give either paths or --batch-input and --batch-output, not both.");
            }
            else if (batch == 0 && !given)
            {
                result.AddError("Give a path to import, or --batch-input and --batch-output.");
            }
        });
        context.SetAction(command, async (parsed, cancellationToken) =>
        {
            if (parsed.GetValue(batchInput) is { } input && parsed.GetValue(batchOutput) is { } output)
            {
                return await ImportBatchAsync(context, parsed, input, output, cancellationToken);
            }

            var given = parsed.GetValue(paths)!;
            ImportSources.Validate(given);
            await using var store = await context.OpenStoreAsync(parsed, cancellationToken);
            return await ImportAsync(store, context.Console, ImportSources.ReadAsync(given, context.Console.In, cancellationToken), cancellationToken);
        });
        return command;
    }

    /// <summary>Imports the items, reporting as it goes; returns the exit code.</summary>
    public static async Task<int> ImportAsync(
        ChatCompletionStore store, CliConsole console, IAsyncEnumerable<ImportItem> items, CancellationToken cancellationToken)
    {
        var importer = new Importer(store, console);
        await importer.ImportAsync(items, cancellationToken);
        return importer.Rejected == 0 ? ExitCodes.Success : ExitCodes.Failure;
    }

    /// <summary>Joins a Batch API job's two files and stores its completions with their requests; each skipped line on standard error.</summary>
    private static async Task<int> ImportBatchAsync(CliContext context, ParseResult parsed, string input, string output, CancellationToken cancellationToken)
    {
        foreach (var path in new[] { input, output })
        {
            if (!File.Exists(path))
            {
                throw new CliException($"{path}: no such file.");
            }
        }

        await using var store = await context.OpenStoreAsync(parsed, cancellationToken);
        await using var inputFile = File.OpenRead(input);
        await using var outputFile = File.OpenRead(output);
        long imported = 0, already = 0, skipped = 0;
        var elapsed = Stopwatch.StartNew();
        await foreach (var result in store.ImportBatchAsync(inputFile, outputFile, cancellationToken))
        {
            switch (result)
            {
                case { Error: { } error }:
                    skipped++;
                    var id = result.CustomId is null ? "" : $" {result.CustomId}:";
                    await context.Console.Error.WriteLineAsync($"{output}:{result.Line}:{id} {error}");
                    break;
                case { Outcome: SaveOutcome.Stored }:
                    imported++;
                    break;
                default:
                    already++;
                    break;
            }
        }

        await context.Console.Out.WriteLineAsync(string.Create(
            CultureInfo.InvariantCulture,
            $"imported {imported}, skipped {already} (already stored), failed {skipped} (errors, non-200 responses, bad lines); in {elapsed.Elapsed.TotalSeconds:0.00} s"));
        return skipped == 0 ? ExitCodes.Success : ExitCodes.Failure;
    }
}

using System.CommandLine;
using Storage.Cli.Import;

namespace Storage.Cli.Commands;

/// <summary><c>storage import PATH...</c></summary>
internal static class ImportCommand
{
    public static Command Create(CliContext context)
    {
        var paths = new Argument<string[]>("PATH")
        {
            Description = "A .json file (one completion or an array of them), a .jsonl file (one completion a line), "
                + "or - for JSON Lines on standard input.",
            Arity = ArgumentArity.OneOrMore,
        };
        var command = new Command(
            "import",
            "Store completions. Idempotent: one already stored is skipped. A bad line or document is reported on standard error "
            + "and the rest are still stored; the exit code is 1 if anything was rejected.")
        {
            paths,
        };
        context.SetAction(command, async (parsed, cancellationToken) =>
        {
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
}

using System.CommandLine;

namespace Storage.Cli.Commands;

/// <summary><c>storage reprice [--created-after T] [--created-before T] [--model M]</c></summary>
internal static class RepriceCommand
{
    public static Command Create(CliContext context)
    {
        var filters = new FilterOptions(createdRange: true);
        var command = new Command("reprice", "Recompute the stored costs from the current prices, in batches; the usage totals follow exactly.");
        filters.AddTo(command);
        context.SetAction(command, async (parsed, cancellationToken) =>
        {
            await using var store = await context.OpenStoreAsync(parsed, cancellationToken);
            var changed = await store.RepriceAsync(filters.Read(parsed), cancellationToken);
            await context.Console.Out.WriteLineAsync($"repriced {changed} completions");
            return ExitCodes.Success;
        });
        return command;
    }
}

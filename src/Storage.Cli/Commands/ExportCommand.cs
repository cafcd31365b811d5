using System.CommandLine;

namespace Storage.Cli.Commands;

/// <summary><c>storage export [filters]</c></summary>
internal static class ExportCommand
{
    public static Command Create(CliContext context)
    {
        var filters = new FilterOptions(createdRange: true);
        var command = new Command(
            "export",
            "Print every matching completion as JSON Lines, oldest first, streamed. Importing the output into an empty database "
            + "reproduces it.");
        filters.AddTo(command);
        context.SetAction(command, async (parsed, cancellationToken) =>
        {
            await using var store = await context.OpenStoreAsync(parsed, cancellationToken);
            await foreach (var completion in store.ExportAsync(filters.Read(parsed), cancellationToken))
            {
                await context.Console.Out.WriteLineAsync(ChatCompletionJson.Serialize(completion).AsMemory(), cancellationToken);
            }

            return ExitCodes.Success;
        });
        return command;
    }
}

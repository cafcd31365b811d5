using System.CommandLine;

namespace Storage.Cli.Commands;

/// <summary><c>storage delete ID</c></summary>
internal static class DeleteCommand
{
    public static Command Create(CliContext context)
    {
        var id = new Argument<string>("ID") { Description = "The vendor id; the most recently stored completion when several share it." };
        var command = new Command("delete", "Delete a stored completion and print OpenAI's deletion object.") { id };
        context.SetAction(command, async (parsed, cancellationToken) =>
        {
            var wanted = parsed.GetValue(id)!;
            await using var store = await context.OpenStoreAsync(parsed, cancellationToken);
            if (!await store.DeleteAsync(wanted, cancellationToken))
            {
                throw new CliException($"No stored completion has the id '{wanted}'.");
            }

            await JsonOutput.WriteDeletedAsync(context.Console.Out, wanted, cancellationToken);
            return ExitCodes.Success;
        });
        return command;
    }
}

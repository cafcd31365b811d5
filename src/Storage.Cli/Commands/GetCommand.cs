using System.CommandLine;

namespace Storage.Cli.Commands;

/// <summary><c>storage get ID</c></summary>
internal static class GetCommand
{
    public static Command Create(CliContext context)
    {
        var id = new Argument<string>("ID") { Description = "The vendor id, such as chatcmpl-…." };
        var command = new Command(
            "get", "Print a stored completion as wire JSON; the most recently stored one when several share the id.")
        {
            id,
        };
        context.SetAction(command, async (parsed, cancellationToken) =>
        {
            var wanted = parsed.GetValue(id)!;
            await using var store = await context.OpenStoreAsync(parsed, cancellationToken);
            var found = await store.FindAsync(wanted, cancellationToken);
            if (found.Count == 0)
            {
                throw new CliException($"No stored completion has the id '{wanted}'.");
            }

            if (found.Count > 1)
            {
                await context.Console.Error.WriteLineAsync(
                    $"storage: {found.Count} stored completions have the id '{wanted}'; this is the most recently stored.");
            }

            await JsonOutput.WriteCompletionAsync(context.Console.Out, found[0], cancellationToken);
            return ExitCodes.Success;
        });
        return command;
    }
}

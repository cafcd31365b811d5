using System.CommandLine;

namespace Storage.Cli.Commands;

/// <summary><c>storage update-metadata ID KEY=VALUE...</c></summary>
internal static class UpdateMetadataCommand
{
    public static Command Create(CliContext context)
    {
        var id = new Argument<string>("ID") { Description = "The vendor id; the most recently stored completion when several share it." };
        var pairs = CliOptions.PairsArgument("KEY=VALUE", "The new metadata. It replaces the whole map, as OpenAI's update does.");
        var command = new Command("update-metadata", "Replace a stored completion's metadata and print the completion as now stored.")
        {
            id,
            pairs,
        };
        context.SetAction(command, async (parsed, cancellationToken) =>
        {
            await using var store = await context.OpenStoreAsync(parsed, cancellationToken);
            var updated = await store.UpdateMetadataAsync(parsed.GetValue(id)!, parsed.GetValue(pairs), cancellationToken: cancellationToken);
            await JsonOutput.WriteCompletionAsync(context.Console.Out, updated.Completion, cancellationToken);
            return ExitCodes.Success;
        });
        return command;
    }
}

using System.CommandLine;

namespace Storage.Cli.Commands;

/// <summary><c>storage search-index [--enable | --disable]</c></summary>
internal static class SearchIndexCommand
{
    public static Command Create(CliContext context)
    {
        var enable = new Option<bool>("--enable")
        {
            Description = "Create the trigram indexes (and the pg_trgm extension when missing); run as the schema's owner.",
        };
        var disable = new Option<bool>("--disable") { Description = "Drop them; search then scans." };
        var command = new Command(
            "search-index",
            "Say whether the trigram indexes that serve --search are on, after turning them on or off. Off after migrating: they make "
            + "bulk writes several times slower; search is correct either way.")
        {
            enable, disable,
        };
        command.Validators.Add(result =>
        {
            if (result.GetValue(enable) && result.GetValue(disable))
            {
                result.AddError("Give --enable or --disable, not both.");
            }
        });
        context.SetAction(command, async (parsed, cancellationToken) =>
        {
            await using var store = await context.OpenStoreAsync(parsed, cancellationToken);
            if (parsed.GetValue(enable) || parsed.GetValue(disable))
            {
                await store.SetSearchIndexAsync(parsed.GetValue(enable), cancellationToken);
            }

            await context.Console.Out.WriteLineAsync(await store.HasSearchIndexAsync(cancellationToken) ? "search index: on" : "search index: off");
            return ExitCodes.Success;
        });
        return command;
    }
}

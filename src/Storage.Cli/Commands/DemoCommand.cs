using System.CommandLine;
using System.Reflection;
using System.Runtime.CompilerServices;
using Storage.Cli.Import;

namespace Storage.Cli.Commands;

/// <summary><c>storage demo</c>: migrate, import the shipped samples, show a list page and a usage table.</summary>
internal static class DemoCommand
{
    // The samples are embedded under this prefix by the project file.
    private const string SamplePrefix = "samples/";
    private const int PageSize = 3;

    public static Command Create(CliContext context)
    {
        var command = new Command(
            "demo",
            "Migrate the database, import the sample completions shipped with the tool, then show a list page and a usage table. "
            + "With nothing configured it starts a development PostgreSQL from the installed binaries.");
        context.SetAction(command, async (parsed, cancellationToken) =>
        {
            var output = context.Console.Out;
            var connectionString = await context.ResolveConnectionAsync(parsed, cancellationToken);

            await output.WriteLineAsync("== storage migrate");
            await MigrateCommand.MigrateAsync(context.Console, connectionString, cancellationToken);

            await using var store = new ChatCompletionStore(connectionString);
            await output.WriteLineAsync("\n== storage import (the shipped samples)");
            var imported = await ImportCommand.ImportAsync(store, context.Console, ReadSamplesAsync(cancellationToken), cancellationToken);

            await output.WriteLineAsync($"\n== storage list --limit {PageSize}");
            var page = await store.ListAsync(limit: PageSize, cancellationToken: cancellationToken);
            await JsonOutput.WritePageAsync(output, page, cancellationToken);
            if (page.HasMore)
            {
                await output.WriteLineAsync($"(next page: storage list --limit {PageSize} --after {page.LastId})");
            }

            string[] groups = ["model"];
            await output.WriteLineAsync("\n== storage usage --group-by model");
            var usage = await store.GetUsageAsync(grouping: UsageCommand.Grouping(groups), cancellationToken: cancellationToken);
            await UsageCommand.WriteTableAsync(output, groups, usage, cancellationToken);
            return imported;
        });
        return command;
    }

    private static async IAsyncEnumerable<ImportItem> ReadSamplesAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var assembly = Assembly.GetExecutingAssembly();
        var names = assembly.GetManifestResourceNames()
            .Where(name => name.StartsWith(SamplePrefix, StringComparison.Ordinal))
            .Order(StringComparer.Ordinal);
        foreach (var name in names)
        {
            await using var stream = assembly.GetManifestResourceStream(name)!;
            await foreach (var item in ImportSources.ReadDocumentAsync(name, stream, cancellationToken))
            {
                yield return item;
            }
        }
    }
}

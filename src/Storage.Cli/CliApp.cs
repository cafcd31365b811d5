using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;
using System.CommandLine.Parsing;
using System.Text.RegularExpressions;
using Storage.Cli.Commands;

namespace Storage.Cli;

/// <summary>The <c>storage</c> command line: parses the arguments and runs the command against the given console.</summary>
internal static partial class CliApp
{
    public static Task<int> RunAsync(string[] args, Stream stdin, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken) =>
        RunAsync(args, new CliConsole(stdin, stdout, stderr), cancellationToken);

    public static async Task<int> RunAsync(string[] args, CliConsole console, CancellationToken cancellationToken)
    {
        var context = new CliContext(console);
        // A plain command rather than RootCommand, whose name would be that of the running executable.
        var root = new Command("storage", "Keep OpenAI-style chat completions in PostgreSQL: import, query, export and prune them.")
        {
            context.Connection,
            context.Tenant,
            new HelpOption(),
            new VersionOption(),
            MigrateCommand.Create(context),
            ImportCommand.Create(context),
            GetCommand.Create(context),
            ListCommand.Create(context),
            UpdateMetadataCommand.Create(context),
            DeleteCommand.Create(context),
            UsageCommand.Create(context),
            PricesCommand.Create(context),
            RepriceCommand.Create(context),
            ExportCommand.Create(context),
            PruneCommand.Create(context),
            PartitionsCommand.Create(context),
            SearchIndexCommand.Create(context),
            CitusCommand.Create(context),
            DemoCommand.Create(context),
        };

        var parsed = root.Parse(args);
        if (parsed.Action is ParseErrorAction)
        {
            // One line naming the mistakes and pointing to help, rather than the whole help text.
            var path = CommandPath(parsed.CommandResult);
            var errors = string.Join(' ', parsed.Errors.Select(error => OneLine().Replace(error.Message, " ").Trim()));
            await console.Error.WriteLineAsync($"{path}: {errors} (see '{path} --help')");
            return ExitCodes.Usage;
        }

        return await parsed.InvokeAsync(
            new InvocationConfiguration
            {
                Output = console.Out,
                Error = console.Error,
                // Actions report their own failures; cancellation comes from the caller's token.
                EnableDefaultExceptionHandler = false,
                ProcessTerminationTimeout = null,
            },
            cancellationToken);
    }

    private static string CommandPath(CommandResult result)
    {
        var names = new List<string>();
        for (SymbolResult? current = result; current is not null; current = current.Parent)
        {
            if (current is CommandResult command)
            {
                names.Insert(0, command.Command.Name);
            }
        }

        return string.Join(' ', names);
    }

    [GeneratedRegex(@"\s+")]
    private static partial Regex OneLine();
}

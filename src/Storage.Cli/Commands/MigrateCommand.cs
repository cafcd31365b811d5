using System.CommandLine;
using Storage.Migrations;

namespace Storage.Cli.Commands;

/// <summary><c>storage migrate [--script]</c></summary>
internal static class MigrateCommand
{
    public static Command Create(CliContext context)
    {
        var script = new Option<bool>("--script")
        {
            Description = "Print the idempotent SQL script of every migration instead of applying them (needs no database).",
        };
        var command = new Command("migrate", "Apply the pending schema migrations.") { script };
        context.SetAction(command, async (parsed, cancellationToken) =>
        {
            if (parsed.GetValue(script))
            {
                await context.Console.Out.WriteLineAsync(StorageMigrator.GenerateIdempotentScript().AsMemory(), cancellationToken);
                return ExitCodes.Success;
            }

            await MigrateAsync(context.Console, await context.ResolveConnectionAsync(parsed, cancellationToken), cancellationToken);
            return ExitCodes.Success;
        });
        return command;
    }

    public static async Task MigrateAsync(CliConsole console, string connectionString, CancellationToken cancellationToken)
    {
        await StorageMigrator.MigrateAsync(connectionString, cancellationToken);
        await console.Out.WriteLineAsync("The database schema is up to date.");
    }
}

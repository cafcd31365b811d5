using System.CommandLine;
using Npgsql;
using Storage.Migrations;

namespace Storage.Cli.Commands;

/// <summary><c>storage citus distribute [--shard-count N]</c></summary>
internal static class CitusCommand
{
    public static Command Create(CliContext context)
    {
        var shardCount = new Option<int?>("--shard-count")
        {
            Description = "Shards per table (1-64000). Default: the cluster's citus.shard_count (32 unless set).",
            HelpName = "N",
        };
        shardCount.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int?>() is < 1 or > 64_000)
            {
                result.AddError("--shard-count must be between 1 and 64000.");
            }
        });
        var distribute = new Command(
            "distribute",
            "On a Citus coordinator, after 'storage migrate' and citus_add_node: shard the tables by completion_key (co-located) "
            + "and keep the usage totals with Citus-safe triggers. Safe to run again.")
        {
            shardCount,
        };
        context.SetAction(distribute, async (parsed, cancellationToken) =>
        {
            await using var dataSource = NpgsqlDataSource.Create(await context.ResolveConnectionAsync(parsed, cancellationToken));
            var done = await StorageMigrator.DistributeOnCitusAsync(dataSource, parsed.GetValue(shardCount), cancellationToken);
            await context.Console.Out.WriteLineAsync(done
                ? "The tables are distributed over the Citus cluster."
                : "The tables were already distributed; the Citus functions, triggers and views are up to date.");
            return ExitCodes.Success;
        });
        return new Command("citus", "Run the store on a Citus cluster (see the README's \"Distributed (Citus)\").") { distribute };
    }
}

using System.CommandLine;
using System.Globalization;

namespace Storage.Cli.Commands;

/// <summary><c>storage prune (--older-than DURATION | --before TIME) [--model M] [--metadata K=V]... [--dry-run]</c></summary>
internal static class PruneCommand
{
    public static Command Create(CliContext context)
    {
        var olderThan = new Option<TimeSpan>("--older-than")
        {
            Description = "Delete completions created more than this long ago: 30d, 12h, 90m, 45s, 2w, or combined as 1d12h.",
            HelpName = "DURATION",
            CustomParser = result =>
            {
                var text = result.Tokens[0].Value;
                if (Values.TryParseDuration(text, out var duration))
                {
                    return duration;
                }

                result.AddError($"--older-than: '{text}' is not a duration such as 30d, 12h or 90m.");
                return default;
            },
        };
        var beforeTime = CliOptions.Time("--before", "Delete completions created before this time");
        var dryRun = new Option<bool>("--dry-run") { Description = "Only count what would be deleted; change nothing." };
        var filters = new FilterOptions(createdRange: false);

        var command = new Command(
            "prune",
            "Delete old completions (retention): with no filter but the cutoff, whole partitions before it are dropped " +
            "(disk returned at once), the rest deleted in small batches that do not block writers. Usage totals stay.")
        {
            olderThan, beforeTime,
        };
        command.Validators.Add(result =>
        {
            if ((result.GetResult(olderThan) is null) == (result.GetResult(beforeTime) is null))
            {
                result.AddError("Give either --older-than or --before.");
            }
        });
        filters.AddTo(command);
        command.Options.Add(dryRun);
        context.SetAction(command, async (parsed, cancellationToken) =>
        {
            var cutoff = parsed.GetValue(beforeTime) ?? Cutoff(DateTimeOffset.UtcNow, parsed.GetValue(olderThan));
            var filter = filters.Read(parsed);
            var before = cutoff.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
            await using var store = await context.OpenStoreAsync(parsed, cancellationToken);
            if (parsed.GetValue(dryRun))
            {
                // Created times are stored to the microsecond, and the filter's bound is inclusive: "at or before one
                // microsecond earlier" is exactly the "strictly before" that the delete uses. A count of the rows, not the
                // usage totals, which keep deleted completions.
                var count = await store.CountAsync(filter with { CreatedTo = cutoff.AddTicks(-TimeSpan.TicksPerMicrosecond) }, cancellationToken);
                await context.Console.Out.WriteLineAsync(
                    $"would delete {count} completions created before {before} (dry run: nothing was deleted)");
            }
            else
            {
                var deleted = await store.DeleteCreatedBeforeAsync(cutoff, filter, cancellationToken);
                await context.Console.Out.WriteLineAsync($"deleted {deleted} completions created before {before}");
            }

            return ExitCodes.Success;
        });
        return command;
    }

    /// <summary>The instant <paramref name="age"/> before <paramref name="now"/>, in whole seconds like the stored created times.</summary>
    public static DateTimeOffset Cutoff(DateTimeOffset now, TimeSpan age)
    {
        var seconds = now.ToUnixTimeSeconds() - (long)age.TotalSeconds;
        return seconds >= DateTimeOffset.MinValue.ToUnixTimeSeconds()
            ? DateTimeOffset.FromUnixTimeSeconds(seconds)
            : throw new CliException("--older-than reaches back before year 1.");
    }
}

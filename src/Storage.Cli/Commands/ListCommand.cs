using System.CommandLine;

namespace Storage.Cli.Commands;

/// <summary><c>storage list [filters] [--after ID] [--limit N] [--order asc|desc]</c></summary>
internal static class ListCommand
{
    private const int MaxLimit = 100;

    public static Command Create(CliContext context)
    {
        var filters = new FilterOptions(createdRange: true);
        var after = new Option<string?>("--after")
        {
            Description = "Start after this id: the last_id of the previous page.",
            HelpName = "ID",
        };
        var limit = new Option<int>("--limit")
        {
            Description = $"How many completions a page holds, 1 to {MaxLimit}.",
            HelpName = "N",
            DefaultValueFactory = _ => 20,
        };
        limit.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int>() is < 1 or > MaxLimit)
            {
                result.AddError($"--limit must be between 1 and {MaxLimit}.");
            }
        });
        var order = new Option<string>("--order")
        {
            Description = "By created: desc (newest first) or asc (oldest first).",
            DefaultValueFactory = _ => "desc",
        };
        order.AcceptOnlyFromAmong("asc", "desc");

        var command = new Command(
            "list",
            "Print one page of stored completions as OpenAI's list object: data, first_id, last_id and has_more. "
            + "Pass last_id as --after to get the next page.");
        filters.AddTo(command);
        command.Options.Add(after);
        command.Options.Add(limit);
        command.Options.Add(order);
        context.SetAction(command, async (parsed, cancellationToken) =>
        {
            await using var store = await context.OpenStoreAsync(parsed, cancellationToken);
            var page = await store.ListAsync(
                filters.Read(parsed),
                parsed.GetValue(after),
                parsed.GetValue(limit),
                parsed.GetValue(order) == "asc" ? ChatCompletionOrder.Ascending : ChatCompletionOrder.Descending,
                cancellationToken);
            await JsonOutput.WritePageAsync(context.Console.Out, page, cancellationToken);
            return ExitCodes.Success;
        });
        return command;
    }
}

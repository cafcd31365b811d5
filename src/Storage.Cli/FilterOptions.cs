using System.CommandLine;

namespace Storage.Cli;

/// <summary>The options that select stored completions, read into a <see cref="ChatCompletionFilter"/>.</summary>
internal sealed class FilterOptions
{
    private readonly Option<string?> _model = new("--model") { Description = "Only completions of this model (exact match).", HelpName = "MODEL" };

    private readonly Option<Dictionary<string, string>?> _metadata =
        CliOptions.Pairs("--metadata", "Only completions whose metadata holds KEY=VALUE; repeat for several, all must match.");

    private readonly Option<DateTimeOffset?>? _createdAfter;
    private readonly Option<DateTimeOffset?>? _createdBefore;

    private readonly Option<string?> _search = new("--search")
    {
        Description = "Only completions where this text occurs, any case, in any script, inside words too: in the assistant's content, "
            + "refusal, reasoning or tool calls, or the stored request's messages. Every character is literal.",
        HelpName = "TEXT",
    };

    private readonly Option<string?> _finishReason = new("--finish-reason")
    {
        Description = "Only completions with a choice that finished for this reason (stop, length, tool_calls, …).",
        HelpName = "REASON",
    };

    private readonly Option<string?> _tool = new("--tool") { Description = "Only completions with a tool call to this function (or custom tool).", HelpName = "NAME" };

    private readonly Option<bool> _hasToolCalls = new("--has-tool-calls") { Description = "Only completions with a tool call." };

    private readonly Option<bool> _noToolCalls = new("--no-tool-calls") { Description = "Only completions without a tool call." };

    private readonly Option<string?> _serviceTier = new("--service-tier") { Description = "Only completions the vendor served in this tier.", HelpName = "TIER" };

    private readonly Option<long?> _minTokens = Count("--min-tokens", "Only completions whose usage reports at least N total tokens.");

    private readonly Option<long?> _maxTokens = Count("--max-tokens", "Only completions whose usage reports at most N total tokens.");

    private readonly Option<long?> _minLatency = Count("--min-latency", "Only completions whose stored call took at least MS milliseconds.", "MS");

    private readonly Option<long?> _maxLatency = Count("--max-latency", "Only completions whose stored call took at most MS milliseconds.", "MS");

    /// <param name="createdRange">Whether to offer --created-after and --created-before.</param>
    public FilterOptions(bool createdRange)
    {
        if (createdRange)
        {
            _createdAfter = CliOptions.Time("--created-after", "Only completions created at or after this time");
            _createdBefore = CliOptions.Time("--created-before", "Only completions created at or before this time");
        }
    }

    public void AddTo(Command command)
    {
        command.Options.Add(_model);
        command.Options.Add(_metadata);
        if (_createdAfter is not null && _createdBefore is not null)
        {
            command.Options.Add(_createdAfter);
            command.Options.Add(_createdBefore);
        }

        foreach (var option in new Option[] { _search, _finishReason, _tool, _hasToolCalls, _noToolCalls, _serviceTier, _minTokens, _maxTokens, _minLatency, _maxLatency })
        {
            command.Options.Add(option);
        }

        command.Validators.Add(result =>
        {
            if (result.GetValue(_hasToolCalls) && result.GetValue(_noToolCalls))
            {
                result.AddError("Give --has-tool-calls or --no-tool-calls, not both.");
            }
        });
    }

    public ChatCompletionFilter Read(ParseResult parsed) => new()
    {
        Model = parsed.GetValue(_model),
        Metadata = parsed.GetValue(_metadata),
        CreatedFrom = _createdAfter is null ? null : parsed.GetValue(_createdAfter),
        CreatedTo = _createdBefore is null ? null : parsed.GetValue(_createdBefore),
        Search = parsed.GetValue(_search),
        FinishReason = parsed.GetValue(_finishReason),
        ToolName = parsed.GetValue(_tool),
        HasToolCalls = parsed.GetValue(_hasToolCalls) ? true : parsed.GetValue(_noToolCalls) ? false : null,
        ServiceTier = parsed.GetValue(_serviceTier),
        MinTotalTokens = parsed.GetValue(_minTokens),
        MaxTotalTokens = parsed.GetValue(_maxTokens),
        MinLatency = parsed.GetValue(_minLatency) is { } minLatency ? TimeSpan.FromMilliseconds(minLatency) : null,
        MaxLatency = parsed.GetValue(_maxLatency) is { } maxLatency ? TimeSpan.FromMilliseconds(maxLatency) : null,
    };

    /// <summary>A whole number from 0 up (a count of tokens, or milliseconds), or a usage error naming the option.</summary>
    private static Option<long?> Count(string name, string description, string helpName = "N") => new(name)
    {
        Description = description,
        HelpName = helpName,
        CustomParser = result =>
        {
            var text = result.Tokens[0].Value;
            if (long.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var value)
                && value <= (long)TimeSpan.MaxValue.TotalMilliseconds)
            {
                return value;
            }

            result.AddError($"{name}: '{text}' is not a whole number from 0 up.");
            return null;
        },
    };
}

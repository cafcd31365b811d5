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
    }

    public ChatCompletionFilter Read(ParseResult parsed) => new()
    {
        Model = parsed.GetValue(_model),
        Metadata = parsed.GetValue(_metadata),
        CreatedFrom = _createdAfter is null ? null : parsed.GetValue(_createdAfter),
        CreatedTo = _createdBefore is null ? null : parsed.GetValue(_createdBefore),
    };
}

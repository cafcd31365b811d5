namespace Storage.Cli.Import;

/// <summary>One input item: a parsed completion, or why it could not be parsed.</summary>
internal readonly record struct ImportItem(SourceLocation Location, ChatCompletion? Completion, ChatCompletionValidationException? Error);

/// <summary>Where an input item came from, as messages name it: <c>file:line</c>, <c>file[index]</c> or <c>file</c>.</summary>
internal readonly record struct SourceLocation(string Source, long Number, SourceLocation.Kind Of)
{
    public enum Kind
    {
        /// <summary>A whole document; <see cref="Number"/> is unused.</summary>
        Document,

        /// <summary>A line of JSON Lines, numbered from 1.</summary>
        Line,

        /// <summary>An element of a top-level array, numbered from 0.</summary>
        Element,
    }

    public override string ToString() => Of switch
    {
        Kind.Line => $"{Source}:{Number}",
        Kind.Element => $"{Source}[{Number}]",
        _ => Source,
    };
}

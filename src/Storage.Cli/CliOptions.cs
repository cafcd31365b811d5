using System.CommandLine;
using System.CommandLine.Parsing;

namespace Storage.Cli;

/// <summary>Builds the options and arguments that several commands share, with parsers that report bad values as usage errors.</summary>
internal static class CliOptions
{
    public const string TimeHelp = "ISO 8601, UTC unless it has an offset, or Unix seconds";

    public static Option<DateTimeOffset?> Time(string name, string description) => new(name)
    {
        Description = $"{description} ({TimeHelp}).",
        HelpName = "TIME",
        CustomParser = result =>
        {
            var text = result.Tokens[0].Value;
            if (Values.TryParseTime(text, out var time))
            {
                return time;
            }

            result.AddError($"{name}: '{text}' is not a time; give {TimeHelp}, such as 2025-11-24T08:00:00Z or 1764000000.");
            return null;
        },
    };

    public static Option<Dictionary<string, string>?> Pairs(string name, string description) => new(name)
    {
        Description = description,
        HelpName = "KEY=VALUE",
        Arity = ArgumentArity.ZeroOrMore,
        CustomParser = result => ParsePairs(result, name),
    };

    public static Argument<Dictionary<string, string>> PairsArgument(string name, string description) => new(name)
    {
        Description = description,
        Arity = ArgumentArity.OneOrMore,
        CustomParser = result => ParsePairs(result, name) ?? [],
    };

    private static Dictionary<string, string>? ParsePairs(ArgumentResult result, string name)
    {
        var pairs = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var token in result.Tokens)
        {
            if (!Values.TryParsePair(token.Value, out var key, out var value))
            {
                result.AddError($"{name}: '{token.Value}' is not KEY=VALUE.");
                return null;
            }

            if (!pairs.TryAdd(key, value))
            {
                result.AddError($"{name}: the key '{key}' is given twice.");
                return null;
            }
        }

        return pairs;
    }
}

using System.Globalization;
using Microsoft.AspNetCore.Http.Extensions;

namespace Storage.Api.WebConsole;

/// <summary>
/// The list page's view as its URL holds it, so a view can be bookmarked and shared: <c>search</c>, <c>model</c>,
/// <c>meta</c> (<c>key=value</c>, repeated; every pair must match), <c>finish_reason</c>, <c>tool</c>,
/// <c>has_tool_calls</c> (<c>true</c> or <c>false</c>), <c>service_tier</c>, <c>from</c> and <c>to</c> (the created range
/// in UTC, inclusive), <c>limit</c> and the keyset cursor <c>after</c>. <c>search</c>, <c>finish_reason</c>,
/// <c>tool</c>, <c>has_tool_calls</c> and <c>service_tier</c> are named as the API's list parameters. A filter is
/// added here as one more property, parsed in <see cref="Parse"/> and written back in <see cref="Url"/>, and one more
/// input on the page's form.
/// </summary>
internal sealed class ListQuery
{
    public const int DefaultLimit = 25;

    private static readonly string[] DateTimeFormats = ["yyyy-MM-dd'T'HH:mm", "yyyy-MM-dd'T'HH:mm:ss", "yyyy-MM-dd HH:mm", "yyyy-MM-dd HH:mm:ss"];

    /// <summary>The search text, trimmed at its ends (<see cref="ChatCompletionFilter.Search"/>).</summary>
    public string? Search { get; private init; }

    public string? Model { get; private init; }

    /// <summary>The metadata pairs in the order given.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Metadata { get; private init; } = [];

    public string? FinishReason { get; private init; }

    public string? Tool { get; private init; }

    public bool? HasToolCalls { get; private init; }

    public string? ServiceTier { get; private init; }

    /// <summary>The created range as typed (a date, or a date and time), kept to fill the form back.</summary>
    public string? From { get; private init; }

    public string? To { get; private init; }

    public int Limit { get; private init; } = DefaultLimit;

    public string? After { get; private init; }

    /// <summary>What is wrong with the URL's values, each naming its field; the list is not run while there is any.</summary>
    public IReadOnlyList<string> Errors { get; private init; } = [];

    /// <summary>The store's filter for this view (valid only when <see cref="Errors"/> is empty).</summary>
    public ChatCompletionFilter Filter { get; private init; } = new();

    /// <summary>Whether anything narrows the list.</summary>
    public bool IsFiltered =>
        Search is not null || Model is not null || Metadata.Count > 0 || FinishReason is not null || Tool is not null
        || HasToolCalls is not null || ServiceTier is not null || From is not null || To is not null;

    public static ListQuery Parse(IQueryCollection query)
    {
        var errors = new List<string>();
        var metadata = new List<KeyValuePair<string, string>>();
        foreach (var pair in query["meta"])
        {
            if (string.IsNullOrWhiteSpace(pair) || HasNul(pair, "Metadata filter (meta)", errors))
            {
                continue;
            }

            var equals = pair.IndexOf('=', StringComparison.Ordinal);
            if (equals < 1)
            {
                errors.Add($"Metadata filter '{pair}': write it as key=value.");
                continue;
            }

            metadata.Add(KeyValuePair.Create(pair[..equals], pair[(equals + 1)..]));
        }

        var limit = DefaultLimit;
        if (Text(query, "limit", "Page size", errors) is { } limitText
            && (!int.TryParse(limitText, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit is < 1 or > 100))
        {
            errors.Add($"Page size (limit) '{limitText}': expected a whole number from 1 to 100.");
            limit = DefaultLimit;
        }

        var from = Text(query, "from", "From", errors);
        var to = Text(query, "to", "To", errors);
        var createdFrom = Instant(from, "From", endOfDay: false, errors);
        var createdTo = Instant(to, "To", endOfDay: true, errors);
        if (createdFrom > createdTo)
        {
            errors.Add("From must not be after To.");
        }

        var search = Text(query, "search", "Search", errors);
        var model = Text(query, "model", "Model", errors);
        var finishReason = Text(query, "finish_reason", "Finish reason", errors);
        var tool = Text(query, "tool", "Tool", errors);
        var serviceTier = Text(query, "service_tier", "Service tier", errors);
        var hasToolCalls = ToolCalls(Text(query, "has_tool_calls", "Tool calls", errors), errors);
        var byKey = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in metadata)
        {
            if (!byKey.TryAdd(key, value))
            {
                errors.Add($"Metadata filter: the key '{key}' is given twice; a completion has one value per key.");
            }
        }

        return new ListQuery
        {
            Search = search,
            Model = model,
            Metadata = metadata,
            FinishReason = finishReason,
            Tool = tool,
            HasToolCalls = hasToolCalls,
            ServiceTier = serviceTier,
            From = from,
            To = to,
            Limit = limit,
            After = Text(query, "after", "The page cursor", errors),
            Errors = errors,
            Filter = new ChatCompletionFilter
            {
                Search = search,
                Model = model,
                Metadata = byKey.Count == 0 ? null : byKey,
                FinishReason = finishReason,
                ToolName = tool,
                HasToolCalls = hasToolCalls,
                ServiceTier = serviceTier,
                CreatedFrom = createdFrom,
                CreatedTo = createdTo,
            },
        };
    }

    /// <summary>The list URL of this view, at the page after <paramref name="after"/> (the first page when <c>null</c>).</summary>
    public string Url(string? after)
    {
        var query = new QueryBuilder();
        Add(query, "search", Search);
        Add(query, "model", Model);
        foreach (var (key, value) in Metadata)
        {
            query.Add("meta", $"{key}={value}");
        }

        Add(query, "finish_reason", FinishReason);
        Add(query, "tool", Tool);
        Add(query, "has_tool_calls", HasToolCalls switch { true => "true", false => "false", null => null });
        Add(query, "service_tier", ServiceTier);

        Add(query, "from", From);
        Add(query, "to", To);
        if (Limit != DefaultLimit)
        {
            query.Add("limit", Limit.ToString(CultureInfo.InvariantCulture));
        }

        Add(query, "after", after);
        return WebConsole.PathBase + query.ToQueryString();
    }

    private static void Add(QueryBuilder query, string name, string? value)
    {
        if (value is not null)
        {
            query.Add(name, value);
        }
    }

    /// <summary>The parameter's first value, trimmed; <c>null</c> when absent or blank, or when it holds NUL (an error then).</summary>
    private static string? Text(IQueryCollection query, string name, string label, List<string> errors)
    {
        var values = query[name];
        return values.Count == 0 || string.IsNullOrWhiteSpace(values[0]) || HasNul(values[0]!, $"{label} ({name})", errors) ? null : values[0]!.Trim();
    }

    /// <summary>
    /// PostgreSQL text cannot hold U+0000, so no stored completion could match; the store would quietly find nothing,
    /// and the page says why instead. The value is not echoed: it holds a character no page should show.
    /// </summary>
    private static bool HasNul(string value, string field, List<string> errors)
    {
        if (!value.Contains('\0', StringComparison.Ordinal))
        {
            return false;
        }

        errors.Add($"{field}: holds a NUL character (U+0000, %00 in the URL), which no stored text can hold.");
        return true;
    }

    private static bool? ToolCalls(string? text, List<string> errors)
    {
        if (text is null)
        {
            return null;
        }

        if (bool.TryParse(text, out var flag))
        {
            return flag;
        }

        errors.Add($"Tool calls (has_tool_calls) '{text}': expected true (with tool calls) or false (without).");
        return null;
    }

    /// <summary>A date (the whole day: its start, or its last second for an upper bound) or a date and time, in UTC.</summary>
    private static DateTimeOffset? Instant(string? text, string field, bool endOfDay, List<string> errors)
    {
        if (text is null)
        {
            return null;
        }

        if (DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var day))
        {
            var start = new DateTimeOffset(day.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);
            return endOfDay ? start.AddDays(1).AddSeconds(-1) : start;
        }

        if (DateTime.TryParseExact(text, DateTimeFormats, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var instant))
        {
            return new DateTimeOffset(instant, TimeSpan.Zero);
        }

        errors.Add($"{field} '{text}': expected a UTC date (2025-01-31) or date and time (2025-01-31T13:45).");
        return null;
    }
}

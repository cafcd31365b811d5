using System.Globalization;
using Microsoft.AspNetCore.Http.Extensions;

namespace Storage.Api.WebConsole;

/// <summary>
/// The list page's view as its URL holds it, so a view can be bookmarked and shared: <c>model</c>, <c>meta</c>
/// (<c>key=value</c>, repeated; every pair must match), <c>from</c> and <c>to</c> (the created range in UTC, inclusive),
/// <c>limit</c> and the keyset cursor <c>after</c>. A filter is added here as one more property, parsed in
/// <see cref="Parse"/> and written back in <see cref="Url"/>, and one more input on the page's form.
/// </summary>
internal sealed class ListQuery
{
    public const int DefaultLimit = 25;

    private static readonly string[] DateTimeFormats = ["yyyy-MM-dd'T'HH:mm", "yyyy-MM-dd'T'HH:mm:ss", "yyyy-MM-dd HH:mm", "yyyy-MM-dd HH:mm:ss"];

    public string? Model { get; private init; }

    /// <summary>The metadata pairs in the order given.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Metadata { get; private init; } = [];

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
    public bool IsFiltered => Model is not null || Metadata.Count > 0 || From is not null || To is not null;

    public static ListQuery Parse(IQueryCollection query)
    {
        var errors = new List<string>();
        var metadata = new List<KeyValuePair<string, string>>();
        foreach (var pair in query["meta"])
        {
            if (string.IsNullOrWhiteSpace(pair))
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
        if (Text(query["limit"]) is { } limitText
            && (!int.TryParse(limitText, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit is < 1 or > 100))
        {
            errors.Add($"Page size (limit) '{limitText}': expected a whole number from 1 to 100.");
            limit = DefaultLimit;
        }

        var from = Text(query["from"]);
        var to = Text(query["to"]);
        var createdFrom = Instant(from, "From", endOfDay: false, errors);
        var createdTo = Instant(to, "To", endOfDay: true, errors);
        if (createdFrom > createdTo)
        {
            errors.Add("From must not be after To.");
        }

        var model = Text(query["model"]);
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
            Model = model,
            Metadata = metadata,
            From = from,
            To = to,
            Limit = limit,
            After = Text(query["after"]),
            Errors = errors,
            Filter = new ChatCompletionFilter
            {
                Model = model,
                Metadata = byKey.Count == 0 ? null : byKey,
                CreatedFrom = createdFrom,
                CreatedTo = createdTo,
            },
        };
    }

    /// <summary>The list URL of this view, at the page after <paramref name="after"/> (the first page when <c>null</c>).</summary>
    public string Url(string? after)
    {
        var query = new QueryBuilder();
        Add(query, "model", Model);
        foreach (var (key, value) in Metadata)
        {
            query.Add("meta", $"{key}={value}");
        }

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

    private static string? Text(Microsoft.Extensions.Primitives.StringValues values) =>
        values.Count == 0 || string.IsNullOrWhiteSpace(values[0]) ? null : values[0]!.Trim();

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

using System.Globalization;

namespace Storage.Cli;

/// <summary>Parses the values that options take: times, durations and KEY=VALUE pairs.</summary>
internal static class Values
{
    // ISO 8601 as people type it: a date, or a date and time with an optional fraction and offset.
    private static readonly string[] IsoFormats =
    [
        "yyyy-MM-dd",
        "yyyy-MM-dd'T'HH:mm", "yyyy-MM-dd'T'HH:mmK",
        "yyyy-MM-dd'T'HH:mm:ss", "yyyy-MM-dd'T'HH:mm:ssK",
        "yyyy-MM-dd'T'HH:mm:ss.FFFFFFF", "yyyy-MM-dd'T'HH:mm:ss.FFFFFFFK",
    ];

    private static readonly long MinUnixSeconds = DateTimeOffset.MinValue.ToUnixTimeSeconds();
    private static readonly long MaxUnixSeconds = DateTimeOffset.MaxValue.ToUnixTimeSeconds();

    /// <summary>Reads Unix seconds, or ISO 8601 taken as UTC when it has no offset.</summary>
    public static bool TryParseTime(string text, out DateTimeOffset time)
    {
        if (long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var seconds))
        {
            var inRange = seconds >= MinUnixSeconds && seconds <= MaxUnixSeconds;
            time = inRange ? DateTimeOffset.FromUnixTimeSeconds(seconds) : default;
            return inRange;
        }

        return DateTimeOffset.TryParseExact(
            text, IsoFormats, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out time);
    }

    /// <summary>Reads a positive duration such as <c>30d</c>, <c>12h</c>, <c>90m</c>, <c>45s</c>, <c>2w</c> or <c>1d12h</c>.</summary>
    public static bool TryParseDuration(string text, out TimeSpan duration)
    {
        duration = TimeSpan.Zero;
        var position = 0;
        try
        {
            while (position < text.Length)
            {
                var start = position;
                while (position < text.Length && char.IsAsciiDigit(text[position]))
                {
                    position++;
                }

                if (position == start || position == text.Length
                    || !int.TryParse(text.AsSpan(start, position - start), NumberStyles.None, CultureInfo.InvariantCulture, out var amount))
                {
                    return false;
                }

                TimeSpan? part = text[position++] switch
                {
                    's' => TimeSpan.FromSeconds(amount),
                    'm' => TimeSpan.FromMinutes(amount),
                    'h' => TimeSpan.FromHours(amount),
                    'd' => TimeSpan.FromDays(amount),
                    'w' => TimeSpan.FromDays(7L * amount),
                    _ => null,
                };
                if (part is null)
                {
                    return false;
                }

                duration = duration.Add(part.Value);
            }
        }
        catch (OverflowException)
        {
            return false;
        }

        return duration > TimeSpan.Zero;
    }

    /// <summary>Splits <c>KEY=VALUE</c> at the first <c>=</c>; the key may not be empty, the value may.</summary>
    public static bool TryParsePair(string text, out string key, out string value)
    {
        var separator = text.IndexOf('=', StringComparison.Ordinal);
        key = separator > 0 ? text[..separator] : "";
        value = separator > 0 ? text[(separator + 1)..] : "";
        return separator > 0;
    }
}

namespace Storage.Cli.Tests;

/// <summary>The parsers of times, durations and pairs.</summary>
public sealed class ValuesTests
{
    [Theory]
    [InlineData("1764000000", "2025-11-24T16:00:00+00:00")]
    [InlineData("0", "1970-01-01T00:00:00+00:00")]
    [InlineData("2025-11-24", "2025-11-24T00:00:00+00:00")]
    [InlineData("2025-11-24T16:00", "2025-11-24T16:00:00+00:00")]
    [InlineData("2025-11-24T16:00:00Z", "2025-11-24T16:00:00+00:00")]
    [InlineData("2025-11-24T18:00:00+02:00", "2025-11-24T16:00:00+00:00")]
    [InlineData("2025-11-24T16:00:00.5Z", "2025-11-24T16:00:00.5+00:00")]
    public void Times_are_iso_8601_or_unix_seconds(string text, string expected)
    {
        Assert.True(Values.TryParseTime(text, out var time));
        Assert.Equal(DateTimeOffset.Parse(expected, System.Globalization.CultureInfo.InvariantCulture), time);
        Assert.Equal(TimeSpan.Zero, time.Offset);
    }

    [Theory]
    [InlineData("yesterday")]
    [InlineData("11/24/2025")]
    [InlineData("")]
    [InlineData("99999999999999999")]
    public void Other_times_are_refused(string text) => Assert.False(Values.TryParseTime(text, out _));

    [Theory]
    [InlineData("30d", 30 * 24 * 60)]
    [InlineData("12h", 12 * 60)]
    [InlineData("90m", 90)]
    [InlineData("2w", 14 * 24 * 60)]
    [InlineData("1d12h", 36 * 60)]
    public void Durations_take_units(string text, int minutes)
    {
        Assert.True(Values.TryParseDuration(text, out var duration));
        Assert.Equal(TimeSpan.FromMinutes(minutes), duration);
    }

    [Theory]
    [InlineData("")]
    [InlineData("30")]
    [InlineData("d")]
    [InlineData("0s")]
    [InlineData("-5d")]
    [InlineData("5 d")]
    [InlineData("5y")]
    [InlineData("99999999999999d")]
    public void Other_durations_are_refused(string text) => Assert.False(Values.TryParseDuration(text, out _));

    [Fact]
    public void A_cutoff_is_in_whole_seconds()
    {
        var now = DateTimeOffset.FromUnixTimeMilliseconds(1_764_000_000_750);

        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1_764_000_000 - 3600), Commands.PruneCommand.Cutoff(now, TimeSpan.FromHours(1)));
    }
}

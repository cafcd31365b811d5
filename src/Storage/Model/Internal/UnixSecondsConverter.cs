using System.Text.Json;
using System.Text.Json.Serialization;

namespace Storage.Internal;

/// <summary>Unix seconds on the wire, a UTC <see cref="DateTimeOffset"/> in .NET and <c>timestamptz</c> in PostgreSQL.</summary>
internal sealed class UnixSecondsConverter : JsonConverter<DateTimeOffset>
{
    private static readonly long MinSeconds = DateTimeOffset.MinValue.ToUnixTimeSeconds();
    private static readonly long MaxSeconds = DateTimeOffset.MaxValue.ToUnixTimeSeconds();

    public static DateTimeOffset Normalize(DateTimeOffset value)
    {
        var ticks = value.UtcTicks;
        return new DateTimeOffset(ticks - (ticks % TimeSpan.TicksPerSecond), TimeSpan.Zero);
    }

    public override DateTimeOffset Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out var seconds))
        {
            throw new WireRuleException(ChatCompletionValidationRule.InvalidValue, "must be an integer number of Unix seconds");
        }

        if (seconds < MinSeconds || seconds > MaxSeconds)
        {
            throw new WireRuleException(
                ChatCompletionValidationRule.OutOfRange,
                $"{seconds} Unix seconds is outside the storable range {MinSeconds}..{MaxSeconds} (years 1 to 9999)");
        }

        return DateTimeOffset.FromUnixTimeSeconds(seconds);
    }

    public override void Write(Utf8JsonWriter writer, DateTimeOffset value, JsonSerializerOptions options) =>
        writer.WriteNumberValue(value.ToUnixTimeSeconds());
}

namespace Storage.Internal;

/// <summary>One bucket's usage and cost (of one model, when grouped by model), as <see cref="BucketSql"/> sums it.</summary>
internal sealed class UsageBucket
{
    public DateTimeOffset BucketStart { get; init; }

    public string? Model { get; init; }

    public long Completions { get; init; }

    public decimal InputTokens { get; init; }

    public decimal OutputTokens { get; init; }

    public decimal InputCachedTokens { get; init; }

    public decimal InputAudioTokens { get; init; }

    public decimal OutputAudioTokens { get; init; }

    public decimal Cost { get; init; }

    public long Unpriced { get; init; }
}

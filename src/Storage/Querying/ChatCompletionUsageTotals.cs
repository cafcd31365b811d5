namespace Storage;

/// <summary>
/// Token usage summed over a group of completions. Sums are exact decimals computed by PostgreSQL as
/// <c>numeric</c>, so they cannot overflow; a completion without usage (or without a detail) adds nothing to that sum.
/// A grouping column that was not asked for is <c>null</c>.
/// </summary>
public sealed record ChatCompletionUsageTotals
{
    /// <summary>The model of the group, when grouped by model.</summary>
    public string? Model { get; init; }

    /// <summary>The UTC day of <c>created</c>, when grouped by day.</summary>
    public DateOnly? Day { get; init; }

    /// <summary>The value of the grouping metadata key; <c>null</c> when not grouped by it or for completions without the key.</summary>
    public string? MetadataValue { get; init; }

    /// <summary>How many completions the group holds.</summary>
    public long Completions { get; init; }

    /// <summary>The sum of <c>usage.prompt_tokens</c>.</summary>
    public decimal PromptTokens { get; init; }

    /// <summary>The sum of <c>usage.completion_tokens</c>.</summary>
    public decimal CompletionTokens { get; init; }

    /// <summary>The sum of <c>usage.total_tokens</c>.</summary>
    public decimal TotalTokens { get; init; }

    /// <summary>The sum of <c>usage.prompt_tokens_details.cached_tokens</c>, where vendors report it.</summary>
    public decimal CachedTokens { get; init; }

    /// <summary>The sum of <c>usage.completion_tokens_details.reasoning_tokens</c>, where vendors report it.</summary>
    public decimal ReasoningTokens { get; init; }

    /// <summary>
    /// The sum of the costs of the group's priced completions, in US dollars, exact (see the README's Cost); the
    /// <see cref="Unpriced"/> completions add nothing to it.
    /// </summary>
    public decimal Cost { get; init; }

    /// <summary>How many of the group's completions have no cost: a model the prices do not know, or no usage.</summary>
    public long Unpriced { get; init; }
}

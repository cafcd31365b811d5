namespace Storage;

/// <summary>
/// Which stored completions a query covers; every condition that is set must hold. Used by
/// <see cref="ChatCompletionStore.ListAsync"/>, <see cref="ChatCompletionStore.ExportAsync"/>,
/// <see cref="ChatCompletionStore.DeleteCreatedBeforeAsync"/> and <see cref="ChatCompletionStore.GetUsageAsync"/>.
/// Every value reaches PostgreSQL as a query parameter, never as SQL text.
/// </summary>
public sealed record ChatCompletionFilter
{
    /// <summary>Only completions of this model, compared exactly (OpenAI's <c>model</c> parameter); <c>null</c> for any model.</summary>
    public string? Model { get; init; }

    /// <summary>
    /// Only completions whose metadata holds every one of these pairs, values compared exactly (OpenAI's
    /// <c>metadata[key]=value</c>, all must match). Served by the GIN index on metadata through jsonb containment (<c>@&gt;</c>).
    /// <c>null</c> or empty for no condition.
    /// </summary>
    public IReadOnlyDictionary<string, string>? Metadata { get; init; }

    /// <summary>Only completions created at or after this instant (inclusive); <c>null</c> for no lower bound.</summary>
    public DateTimeOffset? CreatedFrom { get; init; }

    /// <summary>Only completions created at or before this instant (inclusive); <c>null</c> for no upper bound.</summary>
    public DateTimeOffset? CreatedTo { get; init; }
}

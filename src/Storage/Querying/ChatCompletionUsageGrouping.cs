namespace Storage;

/// <summary>
/// How <see cref="ChatCompletionStore.GetUsageAsync"/> groups its totals: by any combination of model, UTC day and the
/// value of one metadata key. With nothing set there is one row over all matching completions.
/// </summary>
public sealed record ChatCompletionUsageGrouping
{
    /// <summary>One row per model.</summary>
    public bool ByModel { get; init; }

    /// <summary>One row per UTC calendar day of <c>created</c>.</summary>
    public bool ByDay { get; init; }

    /// <summary>One row per value of this metadata key (completions without the key form one row whose value is <c>null</c>); <c>null</c> for no such grouping.</summary>
    public string? ByMetadataKey { get; init; }
}

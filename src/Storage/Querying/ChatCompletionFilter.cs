namespace Storage;

/// <summary>
/// Which stored completions a query covers; every condition that is set must hold. Used by
/// <see cref="ChatCompletionStore.ListAsync"/>, <see cref="ChatCompletionStore.ExportAsync"/>,
/// <see cref="ChatCompletionStore.DeleteCreatedBeforeAsync"/> and <see cref="ChatCompletionStore.GetUsageAsync"/>.
/// Every value reaches PostgreSQL as a query parameter, never as SQL text. A text value holding U+0000 or a lone
/// surrogate, which no stored text can hold, matches nothing.
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

    /// <summary>
    /// Only completions where this text occurs, case-insensitively, as a substring (inside words too, in any script): in
    /// an assistant message's content (text or text parts), refusal or reasoning (<c>reasoning</c>,
    /// <c>reasoning_content</c>), a tool call's function name or arguments (a custom tool's name or input), or the
    /// stored request's messages (content, text parts, refusals, tool calls; see <see cref="ChatCompletionCall.Request"/>).
    /// Every character is literal (<c>%</c>, <c>_</c> and <c>\</c> too). Case is folded by the database's <c>LC_CTYPE</c>
    /// (README, Querying); served by trigram indexes when the deployment turned them on
    /// (<see cref="ChatCompletionStore.SetSearchIndexAsync"/>), else by a scan. <c>null</c> or empty for no condition.
    /// </summary>
    public string? Search { get; init; }

    /// <summary>Only completions with a choice that finished for this reason (<c>stop</c>, <c>length</c>, <c>tool_calls</c>, …), compared exactly; <c>null</c> for any.</summary>
    public string? FinishReason { get; init; }

    /// <summary>Only completions with a tool call to this function (or custom tool) in any choice, name compared exactly; <c>null</c> for any.</summary>
    public string? ToolName { get; init; }

    /// <summary>
    /// <c>true</c>: only completions with a tool call in some choice; <c>false</c>: only those with none (an empty
    /// <c>tool_calls</c> array is none); <c>null</c> for either.
    /// </summary>
    public bool? HasToolCalls { get; init; }

    /// <summary>Only completions the vendor answered with this <c>service_tier</c>, compared exactly; <c>null</c> for any.</summary>
    public string? ServiceTier { get; init; }

    /// <summary>Only completions whose usage reports at least this many total tokens (inclusive); those without usage do not match. <c>null</c> for no lower bound.</summary>
    public long? MinTotalTokens { get; init; }

    /// <summary>Only completions whose usage reports at most this many total tokens (inclusive); those without usage do not match. <c>null</c> for no upper bound.</summary>
    public long? MaxTotalTokens { get; init; }

    /// <summary>
    /// Only completions whose stored call took at least this long (<see cref="ChatCompletionCall.Latency"/>, inclusive);
    /// those stored without a latency do not match. <c>null</c> for no lower bound.
    /// </summary>
    public TimeSpan? MinLatency { get; init; }

    /// <summary>
    /// Only completions whose stored call took at most this long (<see cref="ChatCompletionCall.Latency"/>, inclusive);
    /// those stored without a latency do not match. <c>null</c> for no upper bound.
    /// </summary>
    public TimeSpan? MaxLatency { get; init; }
}

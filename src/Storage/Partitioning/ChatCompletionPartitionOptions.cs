namespace Storage;

/// <summary>
/// The partition maintenance that <c>services.AddChatCompletionStore()</c> runs in the host (the <c>Partitions</c> part
/// of the <c>Storage</c> section): <see cref="ChatCompletionStore.EnsurePartitionsAsync"/> when the host starts and then
/// every <see cref="Interval"/>, then <c>storage_compact_usage()</c>, which folds the usage rollups' per-session rows of past
/// days and hours into one each without changing a total. On by default: without it every completion is still stored (in the default partition),
/// but that partition grows and retention cannot drop it by period. Turn it off where a scheduler (pg_cron, a job calling
/// <c>storage partitions --ensure</c>) does the same.
/// </summary>
public sealed class ChatCompletionPartitionOptions
{
    /// <summary>Whether the host keeps the partitions made ahead. Default <c>true</c>.</summary>
    public bool Maintain { get; set; } = true;

    /// <summary>How many months ahead to make partitions, 0–120. Default 3.</summary>
    public int MonthsAhead { get; set; } = ChatCompletionStore.DefaultPartitionMonthsAhead;

    /// <summary>How often to check. Default one hour.</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromHours(1);
}

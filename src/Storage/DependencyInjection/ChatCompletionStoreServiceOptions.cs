namespace Storage;

/// <summary>
/// Options of the store and writer that <c>services.AddChatCompletionStore()</c> registers. Bound from the
/// <c>Storage</c> configuration section (<see cref="ConfigurationSection"/>), then adjusted by the configure delegate:
/// <code>
/// "Storage": {
///   "ConnectionString": "Host=…;Database=storage;Username=storage_app;Password=…;Maximum Pool Size=50",
///   "Store": { "ValidateMetadata": true, "MaxContentLength": 4194304, "MaxRetryCount": 6, "MaxRetryDelay": "00:00:30" },
///   "Writer": { "Capacity": 10000, "BatchSize": 1000, "FlushInterval": "00:00:00.200", "FullMode": "Wait" },
///   "Partitions": { "Maintain": true, "MonthsAhead": 3, "Interval": "01:00:00" }
/// }
/// </code>
/// </summary>
public sealed class ChatCompletionStoreServiceOptions
{
    /// <summary>The configuration section bound by default: <c>Storage</c>.</summary>
    public const string ConfigurationSection = "Storage";

    /// <summary>
    /// The PostgreSQL connection string, used when no <see cref="Npgsql.NpgsqlDataSource"/> is registered in the
    /// container. Connection pooling is Npgsql's, sized in the connection string (<c>Maximum Pool Size</c>,
    /// <c>Minimum Pool Size</c>, <c>Connection Idle Lifetime</c>). When unset, <c>ConnectionStrings:Storage</c> is used.
    /// </summary>
    public string? ConnectionString { get; set; }

    /// <summary>Validation limits and the retry policy of the store.</summary>
    public ChatCompletionStoreOptions Store { get; set; } = new();

    /// <summary>Buffering and flushing of the registered <see cref="ChatCompletionWriter"/>.</summary>
    public ChatCompletionWriterOptions Writer { get; set; } = new();

    /// <summary>The partitions the host makes ahead (on by default).</summary>
    public ChatCompletionPartitionOptions Partitions { get; set; } = new();
}

namespace Storage;

/// <summary>
/// Options of the store and writer that <c>services.AddChatCompletionStore()</c> registers. Bound from the
/// <c>Storage</c> configuration section (<see cref="ConfigurationSection"/>), then adjusted by the configure delegate:
/// <code>
/// "Storage": {
///   "ConnectionString": "Host=…;Database=storage;Username=storage_app;Password=…;Maximum Pool Size=50",
///   "ReadConnectionString": "Host=standby1,standby2,primary;Target Session Attributes=prefer-standby;Database=storage;…",
///   "Store": { "ValidateMetadata": true, "MaxContentLength": 4194304, "MaxRetryCount": 12, "MaxRetryDelay": "00:00:01",
///              "ReadYourWrites": true, "ReadYourWritesTimeout": "00:00:01" },
///   "Writer": { "Capacity": 10000, "BatchSize": 1000, "FlushInterval": "00:00:00.200", "FullMode": "Wait" },
///   "Partitions": { "Maintain": true, "MonthsAhead": 3, "Interval": "01:00:00" }
/// }
/// </code>
/// </summary>
public sealed class ChatCompletionStoreServiceOptions
{
    /// <summary>The configuration section bound by default: <c>Storage</c>.</summary>
    public const string ConfigurationSection = "Storage";

    /// <summary>The connection string name read when <see cref="ReadConnectionString"/> is unset: <c>ConnectionStrings:StorageRead</c>.</summary>
    public const string ReadConnectionStringName = "StorageRead";

    /// <summary>
    /// The PostgreSQL connection string, used when no <see cref="Npgsql.NpgsqlDataSource"/> is registered in the
    /// container. Connection pooling is Npgsql's, sized in the connection string (<c>Maximum Pool Size</c>,
    /// <c>Minimum Pool Size</c>, <c>Connection Idle Lifetime</c>). When unset, <c>ConnectionStrings:Storage</c> is used.
    /// </summary>
    public string? ConnectionString { get; set; }

    /// <summary>
    /// The connection string of a read data source: a streaming standby of the database, or several hosts with
    /// <c>Target Session Attributes=prefer-standby</c>. Get, list, export, messages and usage read there, everything else
    /// goes to the primary (<see cref="ConnectionString"/>, or the registered <see cref="Npgsql.NpgsqlDataSource"/>), and
    /// reads the standby cannot answer go to the primary; see
    /// <see cref="ChatCompletionStore(Npgsql.NpgsqlDataSource, Npgsql.NpgsqlDataSource?, ChatCompletionStoreOptions?)"/> and
    /// <see cref="ChatCompletionStoreOptions.ReadYourWrites"/>. When unset, <c>ConnectionStrings:StorageRead</c> is used;
    /// when that is unset too, reads go to the primary.
    /// </summary>
    public string? ReadConnectionString { get; set; }

    /// <summary>Validation limits and the retry policy of the store.</summary>
    public ChatCompletionStoreOptions Store { get; set; } = new();

    /// <summary>
    /// A price file in the format of LiteLLM's <c>model_prices_and_context_window.json</c> (configuration
    /// <c>Storage:PricesFile</c>): when set, the store computes costs from it (read once, at start) instead of the
    /// database's price table, as <see cref="ChatCompletionStoreOptions.Prices"/>. <c>null</c> (the default): the
    /// database's table.
    /// </summary>
    public string? PricesFile { get; set; }

    /// <summary>Buffering and flushing of the registered <see cref="ChatCompletionWriter"/>.</summary>
    public ChatCompletionWriterOptions Writer { get; set; } = new();

    /// <summary>The partitions the host makes ahead (on by default).</summary>
    public ChatCompletionPartitionOptions Partitions { get; set; } = new();
}

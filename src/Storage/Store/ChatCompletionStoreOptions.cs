namespace Storage;

/// <summary>Options of a <see cref="ChatCompletionStore"/>.</summary>
public sealed class ChatCompletionStoreOptions
{
    /// <summary>Whether metadata is held to OpenAI's limits (16 pairs, keys up to 64, values up to 512 characters). On by default.</summary>
    public bool ValidateMetadata { get; set; } = true;

    /// <summary>
    /// The largest message content accepted, in UTF-16 characters of its text (or of its JSON, for content parts);
    /// <c>null</c> for no limit. Defaults to 4 Mi characters; PostgreSQL itself stops at 1 GB a value.
    /// </summary>
    public int? MaxContentLength { get; set; } = 4 * 1024 * 1024;

    /// <summary>
    /// How many completions <see cref="ChatCompletionStore.SaveManyAsync(IAsyncEnumerable{ChatCompletion}, CancellationToken)"/>
    /// writes per transaction. Larger batches are faster and hold their locks longer. Defaults to 1,000.
    /// </summary>
    public int BulkBatchSize
    {
        get;
        set => field = value > 0 ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "The batch size must be positive.");
    } = 1000;

    /// <summary>
    /// How often a read or a single save that failed on a transient database error (a dropped connection, a failover,
    /// a serialization failure) is tried again; 0 turns retrying off. Defaults to 12: with the waits of
    /// <see cref="MaxRetryDelay"/>, about 9 seconds of outage are ridden out.
    /// </summary>
    public int MaxRetryCount
    {
        get;
        set => field = value >= 0 ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "The retry count cannot be negative.");
    } = 12;

    /// <summary>
    /// The longest wait between two tries: the waits start at 100 ms and double up to it. Defaults to 1 second, so a
    /// save is acknowledged within about a second of the server accepting connections again.
    /// </summary>
    public TimeSpan MaxRetryDelay
    {
        get;
        set => field = value >= TimeSpan.Zero ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "The retry delay cannot be negative.");
    } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// The key tenant claims are signed with, for a multi-tenant deployment with row-level security on: the same bytes
    /// (32 or more) the schema's owner installed with <c>storage_set_tenant_key</c>. Each store then sends, with its
    /// tenant, the tenant's HMAC-SHA256 under this key, and the database counts a claim only with a valid one, so SQL
    /// run as the application role cannot act for a tenant it was not given (see the README's Tenants). <c>null</c>
    /// (the default): claims are not signed. In configuration, base64.
    /// </summary>
    public byte[]? TenantSigningKey
    {
        get;
        set => field = value is null || value.Length >= 32
            ? value
            : throw new ArgumentOutOfRangeException(nameof(value), value.Length, "The tenant signing key must be at least 32 bytes.");
    }

    /// <summary>
    /// Read-your-writes on a store with a read data source (see
    /// <see cref="ChatCompletionStore(Npgsql.NpgsqlDataSource, Npgsql.NpgsqlDataSource?, ChatCompletionStoreOptions?)"/>): after
    /// each operation on the primary, the store notes the primary's WAL position (one extra query), and a later read
    /// through this store or any of its <see cref="ChatCompletionStore.ForTenant"/> views waits, up to
    /// <see cref="ReadYourWritesTimeout"/>, until the standby it reads from has replayed that position, else reads the
    /// primary. Every write made through the store before a read began is then visible to that read. Off by default:
    /// reads on the standby may then lag the primary by its replication delay. Without a read data source it does nothing.
    /// </summary>
    public bool ReadYourWrites { get; set; }

    /// <summary>
    /// How long a read waits for the standby to replay the store's last write when <see cref="ReadYourWrites"/> is on,
    /// before it reads the primary instead; <see cref="TimeSpan.Zero"/> never waits. Defaults to 1 second.
    /// </summary>
    public TimeSpan ReadYourWritesTimeout
    {
        get;
        set => field = value >= TimeSpan.Zero ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "The wait cannot be negative.");
    } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Whether models the database's price table does not name are priced from the library's default table
    /// (<see cref="PriceTable.Default"/>). On by default.
    /// </summary>
    public bool UseDefaultPrices { get; set; } = true;

    /// <summary>
    /// Prices to compute costs with instead of the database's price table (each in force at all times), for a service
    /// that keeps its prices in a file (<c>AddChatCompletionStore</c>'s <c>PricesFile</c>); <c>null</c> (the default): the
    /// database's table, with its history.
    /// </summary>
    public PriceTable? Prices { get; set; }

    /// <summary>
    /// How long the store keeps the database's prices before reading them again; an import through this store refreshes
    /// them at once. Defaults to one minute.
    /// </summary>
    public TimeSpan PriceRefreshInterval
    {
        get;
        set => field = value >= TimeSpan.Zero ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "The interval cannot be negative.");
    } = TimeSpan.FromMinutes(1);
}

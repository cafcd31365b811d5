using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Npgsql;
using Storage.Internal;

namespace Storage;

/// <summary>
/// Stores chat completions in PostgreSQL and reads them back losslessly. Thread-safe: share one instance
/// per database (each call uses its own pooled context and connection).
/// </summary>
public sealed partial class ChatCompletionStore : IAsyncDisposable
{
    private const int MaxTenantLength = 256;

    private readonly NpgsqlDataSource _dataSource;
    private readonly bool _ownsDataSource;
    private readonly PooledDbContextFactory<ChatCompletionDbContext> _contexts;
    private readonly CompletionValidator _validator;
    private readonly ChatCompletionStoreOptions _options;
    private readonly string _tenant;
    private readonly TenantClaim _claim;
    // Whether the role may COPY into the tables is the data source's, so every tenant view shares what one learned.
    private readonly BulkCopy.DirectCopyState _directCopy;
    // The read data source, shared by every tenant view; null when reads go to the primary.
    private readonly ReadReplica? _replica;
    private readonly bool _ownsReadDataSource;
    // Prices are the database's, not a tenant's: every view shares one cache.
    private readonly PriceCache _prices;
    // Whether the database is a Citus coordinator is the data source's too.
    private readonly CitusDetection _citus;

    /// <summary>Creates a store over a data source that the caller owns (and disposes).</summary>
    public ChatCompletionStore(NpgsqlDataSource dataSource, ChatCompletionStoreOptions? options = null)
        : this(dataSource, ownsDataSource: false, options)
    {
    }

    /// <summary>
    /// Creates a store that owns a data source built from a connection string. Unless the string sets
    /// <c>Max Auto Prepare</c>, Npgsql keeps the store's frequent statements prepared (64 per connection): on a table with
    /// a partition per month, planning is most of a query's time.
    /// </summary>
    public ChatCompletionStore(string connectionString, ChatCompletionStoreOptions? options = null)
        : this(StoreDataSources.Create(connectionString), ownsDataSource: true, options)
    {
    }

    /// <summary>
    /// Creates a store that writes to one data source and reads from another (a streaming standby of the primary, or a
    /// multi-host source with <c>Target Session Attributes=prefer-standby</c>); the caller owns and disposes both. Get, find,
    /// list, export, messages and usage read there; saves, metadata updates (with the read of the version they check),
    /// deletes and retention go to <paramref name="dataSource"/>, the primary. A read that the standby cannot answer
    /// (it is down, refuses connections or fails the query) is answered by the primary, and a standby that could not be
    /// reached is skipped for a few seconds. Reads may lag the primary by the replication delay unless
    /// <see cref="ChatCompletionStoreOptions.ReadYourWrites"/> is on. <see cref="ForTenant"/> views share both sources.
    /// </summary>
    /// <param name="dataSource">The primary.</param>
    /// <param name="readDataSource">The source for reads; <c>null</c> to read the primary too.</param>
    /// <param name="options">The store's options.</param>
    public ChatCompletionStore(NpgsqlDataSource dataSource, NpgsqlDataSource? readDataSource, ChatCompletionStoreOptions? options = null)
        : this(dataSource, ownsDataSource: false, readDataSource, ownsReadDataSource: false, options)
    {
    }

    /// <summary>
    /// Creates a store that owns two data sources built from connection strings: the primary's, and one for reads (see
    /// <see cref="ChatCompletionStore(NpgsqlDataSource, NpgsqlDataSource?, ChatCompletionStoreOptions?)"/>).
    /// </summary>
    /// <param name="connectionString">The primary.</param>
    /// <param name="readConnectionString">The standby, or several hosts with <c>Target Session Attributes=prefer-standby</c>; <c>null</c> or empty to read the primary too.</param>
    /// <param name="options">The store's options.</param>
    public ChatCompletionStore(string connectionString, string? readConnectionString, ChatCompletionStoreOptions? options = null)
        : this(
            StoreDataSources.Create(connectionString),
            ownsDataSource: true,
            string.IsNullOrWhiteSpace(readConnectionString) ? null : StoreDataSources.Create(readConnectionString),
            ownsReadDataSource: true,
            options)
    {
    }

    private ChatCompletionStore(NpgsqlDataSource dataSource, bool ownsDataSource, ChatCompletionStoreOptions? options)
        : this(dataSource, ownsDataSource, readDataSource: null, ownsReadDataSource: false, options)
    {
    }

    internal ChatCompletionStore(
        NpgsqlDataSource dataSource, bool ownsDataSource, NpgsqlDataSource? readDataSource, bool ownsReadDataSource, ChatCompletionStoreOptions? options)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        _dataSource = dataSource;
        _ownsDataSource = ownsDataSource;
        _options = options ?? new ChatCompletionStoreOptions();
        _validator = new CompletionValidator(_options);
        _contexts = new PooledDbContextFactory<ChatCompletionDbContext>(
            StorageModel.Configure(new DbContextOptionsBuilder<ChatCompletionDbContext>(), dataSource, _options).Options);
        _tenant = "";
        _claim = TenantClaim.Create(_tenant, _options.TenantSigningKey);
        _directCopy = new BulkCopy.DirectCopyState();
        _replica = readDataSource is null ? null : new ReadReplica(readDataSource, _options);
        _ownsReadDataSource = ownsReadDataSource && readDataSource is not null;
        _prices = new PriceCache(dataSource, _options);
        _citus = new CitusDetection();
    }

    private ChatCompletionStore(ChatCompletionStore store, string tenant)
    {
        _dataSource = store._dataSource;
        _ownsDataSource = false;
        _options = store._options;
        _validator = store._validator;
        _contexts = store._contexts;
        _tenant = tenant;
        _claim = TenantClaim.Create(tenant, _options.TenantSigningKey);
        _directCopy = store._directCopy;
        _replica = store._replica;
        _prices = store._prices;
        _citus = store._citus;
    }

    /// <summary>The tenant this store is scoped to (see <see cref="ForTenant"/>), or <c>null</c> for the unscoped store.</summary>
    public string? Tenant => _tenant.Length == 0 ? null : _tenant;

    /// <summary>
    /// A view of this store scoped to one tenant: everything it saves belongs to the tenant, and every read, list,
    /// update, delete, export and usage total sees only the tenant's completions. The library filters every query by
    /// tenant, and PostgreSQL's row-level security enforces the same for a non-owner application role (see the README).
    /// The unscoped store is a tenant of its own: it sees none of the scoped stores' completions, nor they its.
    /// The view shares this store's connections; disposing it does nothing.
    /// </summary>
    /// <param name="tenant">The tenant: 1 to 256 characters of storable text (no U+0000, no lone surrogate).</param>
    /// <exception cref="ArgumentException">The tenant is empty, too long or holds unstorable text.</exception>
    public ChatCompletionStore ForTenant(string tenant)
    {
        ArgumentException.ThrowIfNullOrEmpty(tenant);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(tenant.Length, MaxTenantLength, nameof(tenant));
        if (!FilterValues.IsStorable(tenant))
        {
            throw new ArgumentException("The tenant holds U+0000 or a lone surrogate, which PostgreSQL cannot store.", nameof(tenant));
        }

        return new ChatCompletionStore(this, tenant);
    }

    /// <summary>
    /// Validates and stores a completion with its choices, atomically. Saving an identical completion again
    /// writes nothing and returns <see cref="SaveOutcome.AlreadyStored"/>; a different completion that shares
    /// the vendor id is stored beside the first.
    /// </summary>
    /// <exception cref="ChatCompletionValidationException">The completion breaks a rule; nothing was written.</exception>
    /// <exception cref="ChatCompletionStoreException">The database failed; nothing was written.</exception>
    public async Task<SaveOutcome> SaveAsync(ChatCompletion completion, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(completion);
        return await ExecuteAsync("storage.save", "save the completion", async (db, token) =>
        {
            _validator.Validate(completion);
            var hash = ContentHash.Compute(completion, _tenant);
            var key = ContentHash.ToKey(hash);
            var cost = CostCalculator.Compute(completion.Model, completion.Created, completion.Usage, await PricesAsync(token).ConfigureAwait(false));
            var entry = db.Completions.Add(completion);
            entry.Property(ShadowProperties.Cost).CurrentValue = cost?.Usd;
            entry.Property(ShadowProperties.CostSource).CurrentValue = CostSources.Name(cost);
            entry.Property(ShadowProperties.CostClamped).CurrentValue = cost?.Clamped ?? false;
            entry.Property(ShadowProperties.CompletionKey).CurrentValue = key;
            entry.Property(ShadowProperties.ContentHash).CurrentValue = hash;
            entry.Property(ShadowProperties.Tenant).CurrentValue = _tenant;
            foreach (var choice in completion.Choices)
            {
                db.Entry(choice).Property(ShadowProperties.Tenant).CurrentValue = _tenant;
            }

            try
            {
                await db.SaveChangesAsync(token).ConfigureAwait(false);
                CountCost(completion, cost);
                return SaveOutcome.Stored;
            }
            catch (DbUpdateException e) when (e.InnerException is PostgresException inner && ChatCompletionConfiguration.IsPrimaryKeyViolation(inner))
            {
                // Same key and created: a replay, unless the 64-bit keys of two different contents collided.
            }

            return await IsStoredAsync(key, completion.Created, hash, token).ConfigureAwait(false)
                ? SaveOutcome.AlreadyStored
                : throw new ChatCompletionStoreException(
                    "Could not store the completion: its 64-bit storage key collides with a different completion created in the same second.");
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Gets the completion with this vendor id, with its choices; the most recently stored one when several share the id.</summary>
    public async Task<ChatCompletion?> GetAsync(string id, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(id);
        var found = await FindAsync(id, all: false, cancellationToken).ConfigureAwait(false);
        return found.Count == 0 ? null : found[0];
    }

    /// <summary>Gets every completion with this vendor id, most recently stored first.</summary>
    public Task<IReadOnlyList<ChatCompletion>> FindAsync(string id, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(id);
        return FindAsync(id, all: true, cancellationToken);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_ownsDataSource)
        {
            await _dataSource.DisposeAsync().ConfigureAwait(false);
        }

        if (_ownsReadDataSource)
        {
            await _replica!.DataSource.DisposeAsync().ConfigureAwait(false);
        }
    }

    private Task<IReadOnlyList<ChatCompletion>> FindAsync(string id, bool all, CancellationToken cancellationToken) =>
        ReadAsync<IReadOnlyList<ChatCompletion>>("storage.get", "read completions", async (db, token) =>
            all
                ? (await CompletionQueries.FindStoredAsync(db, id, token).ConfigureAwait(false)).ConvertAll(row => row.ToCompletion())
                : await CompletionQueries.GetStoredAsync(db, id, token).ConfigureAwait(false) is { } row ? [row.ToCompletion()] : [],
            cancellationToken);

    // A fresh context: the one whose save failed still tracks the completion.
    private Task<bool> IsStoredAsync(long key, DateTimeOffset created, byte[] hash, CancellationToken cancellationToken) =>
        ReadPrimaryAsync(null, "check for a stored completion", async (db, token) =>
        {
            var stored = await db.Completions
                .Where(c => EF.Property<long>(c, ShadowProperties.CompletionKey) == key && c.Created == created)
                .Select(c => EF.Property<byte[]>(c, ShadowProperties.ContentHash))
                .FirstOrDefaultAsync(token)
                .ConfigureAwait(false);
            return stored is not null && stored.AsSpan().SequenceEqual(hash);
        }, cancellationToken);
}

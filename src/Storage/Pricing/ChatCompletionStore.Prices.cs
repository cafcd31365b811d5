using Npgsql;
using NpgsqlTypes;
using Microsoft.EntityFrameworkCore;
using Storage.Internal;

namespace Storage;

public sealed partial class ChatCompletionStore
{
    private const int RepriceBatchSize = 1000;

    /// <summary>
    /// Writes a price table into the database, each price effective from <paramref name="effectiveFrom"/>: completions
    /// created from then on are priced with it, earlier ones keep their prices (until repriced, see
    /// <see cref="RepriceAsync"/>). A price already there for the same model, class and time is replaced. Prices are not
    /// a tenant's: they hold for the whole database, and only the schema's owner may write them.
    /// </summary>
    /// <returns>How many prices were written.</returns>
    /// <exception cref="ChatCompletionStoreException">The database failed, or the role may not write prices.</exception>
    public async Task<int> ImportPricesAsync(PriceTable prices, DateTimeOffset effectiveFrom, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prices);
        var rows = prices.ToPrices(effectiveFrom);
        var written = await ExecuteAsync("storage.prices.import", "import prices", async token =>
        {
            await using var command = _dataSource.CreateCommand(PriceSql.Import);
            command.Parameters.Add(new NpgsqlParameter("models", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = rows.Select(p => p.Model).ToArray() });
            command.Parameters.Add(new NpgsqlParameter("classes", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = rows.Select(p => p.Member).ToArray() });
            command.Parameters.Add(new NpgsqlParameter("prices", NpgsqlDbType.Array | NpgsqlDbType.Numeric) { Value = rows.Select(p => p.UsdPerToken).ToArray() });
            command.Parameters.Add(new NpgsqlParameter("effective_from", NpgsqlDbType.Array | NpgsqlDbType.TimestampTz)
            {
                Value = rows.Select(p => p.EffectiveFrom.ToUniversalTime()).ToArray(),
            });
            return await command.ExecuteNonQueryAsync(token).ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);
        _prices.Invalidate();
        return written;
    }

    /// <summary>Every price in the database's price table, by model, class and effective-from (not the default table's).</summary>
    /// <exception cref="ChatCompletionStoreException">The database failed.</exception>
    public async Task<IReadOnlyList<ChatCompletionPrice>> ListPricesAsync(CancellationToken cancellationToken = default) =>
        await ExecuteAsync("storage.prices.list", "read prices", token => PriceCache.ReadAsync(_dataSource, token), cancellationToken).ConfigureAwait(false);

    /// <summary>
    /// Recomputes the stored cost of the completions matching the filter from the current prices, in batches of 1,000
    /// (each its own transaction, oldest first), and writes only the costs that change. The usage totals follow exactly,
    /// as for any write.
    /// </summary>
    /// <returns>How many completions' costs changed.</returns>
    /// <exception cref="ChatCompletionStoreException">The database failed; the batches before committed.</exception>
    public async Task<long> RepriceAsync(ChatCompletionFilter? filter = null, CancellationToken cancellationToken = default)
    {
        FilterValues.Validate(filter, nameof(filter));
        using var activity = StorageTelemetry.ActivitySource.StartActivity("storage.reprice");
        var prices = await ExecuteAsync(null, "read prices", token => _prices.LoadAsync(force: true, token), cancellationToken).ConfigureAwait(false);
        long changed = 0;
        (DateTimeOffset Created, long Key)? after = null;
        while (true)
        {
            var batch = await ExecuteAsync(null, "read completions to reprice", (db, token) =>
            {
                var query = db.Completions.AsNoTracking().Matching(db, filter);
                if (after is { } position)
                {
                    var (created, key) = position;
                    query = query.Where(c => c.Created > created || (c.Created == created && EF.Property<long>(c, ShadowProperties.CompletionKey) > key));
                }

                return query
                    .OrderBy(c => c.Created)
                    .ThenBy(c => EF.Property<long>(c, ShadowProperties.CompletionKey))
                    .Take(RepriceBatchSize)
                    .Select(c => new RepriceRow(EF.Property<long>(c, ShadowProperties.CompletionKey), c.Created, c.Model, c.Usage))
                    .ToListAsync(token);
            }, cancellationToken).ConfigureAwait(false);
            if (batch.Count == 0)
            {
                return changed;
            }

            after = (batch[^1].Created, batch[^1].Key);
            var costs = batch.Select(r => CostCalculator.Compute(r.Model, r.Created, r.Usage, prices)).ToList();
            changed += await ExecuteAsync(null, "reprice completions", async token =>
            {
                await using var connection = await _dataSource.OpenConnectionAsync(token).ConfigureAwait(false);
                await using var transaction = await connection.BeginTransactionAsync(token).ConfigureAwait(false);
                await using (var claim = new NpgsqlCommand(TenantSql.SetTenant, connection, transaction))
                {
                    claim.Parameters.AddRange(TenantSql.ClaimParameters(_claim));
                    await claim.ExecuteNonQueryAsync(token).ConfigureAwait(false);
                }

                await using var update = new NpgsqlCommand(PriceSql.Reprice, connection, transaction);
                update.Parameters.Add(TenantSql.TenantParameter(_tenant));
                update.Parameters.Add(new NpgsqlParameter("keys", NpgsqlDbType.Array | NpgsqlDbType.Bigint) { Value = batch.Select(r => r.Key).ToArray() });
                update.Parameters.Add(new NpgsqlParameter("created", NpgsqlDbType.Array | NpgsqlDbType.TimestampTz) { Value = batch.Select(r => r.Created.ToUniversalTime()).ToArray() });
                update.Parameters.Add(new NpgsqlParameter("cost", NpgsqlDbType.Array | NpgsqlDbType.Numeric) { Value = costs.Select(c => c?.Usd).ToArray() });
                update.Parameters.Add(new NpgsqlParameter("cost_source", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = costs.Select(CostSources.Name).ToArray() });
                update.Parameters.Add(new NpgsqlParameter("cost_clamped", NpgsqlDbType.Array | NpgsqlDbType.Boolean) { Value = costs.Select(c => c?.Clamped ?? false).ToArray() });
                var rows = await update.ExecuteNonQueryAsync(token).ConfigureAwait(false);
                await transaction.CommitAsync(token).ConfigureAwait(false);
                return (long)rows;
            }, cancellationToken).ConfigureAwait(false);
        }
    }

    private ValueTask<PriceBook> PricesAsync(CancellationToken cancellationToken) => _prices.GetAsync(cancellationToken);

    private static void CountCost(ChatCompletion completion, ChatCompletionCost? cost)
    {
        if (cost is not null && StorageTelemetry.Cost.Enabled)
        {
            StorageTelemetry.Cost.Add((double)cost.Usd, new KeyValuePair<string, object?>("model", completion.Model));
        }
    }

    private sealed record RepriceRow(long Key, DateTimeOffset Created, string Model, ChatUsage? Usage);
}

using Npgsql;

namespace Storage.Internal;

/// <summary>
/// The prices a store and its tenant views compute costs with, read from the database's price table at most once per
/// <see cref="ChatCompletionStoreOptions.PriceRefreshInterval"/> (and at once after an import through the store), or
/// the fixed table of <see cref="ChatCompletionStoreOptions.Prices"/>.
/// </summary>
internal sealed class PriceCache(NpgsqlDataSource dataSource, ChatCompletionStoreOptions options)
{
    private PriceBook? _book;
    private long _loadedAt;

    public async ValueTask<PriceBook> GetAsync(CancellationToken cancellationToken)
    {
        if (options.Prices is { } fixedPrices)
        {
            return _book ??= new PriceBook(fixedPrices.ToPrices(DateTimeOffset.MinValue), options.UseDefaultPrices ? PriceTable.Default : null);
        }

        if (Volatile.Read(ref _book) is { } book && Environment.TickCount64 - Volatile.Read(ref _loadedAt) < options.PriceRefreshInterval.TotalMilliseconds)
        {
            return book;
        }

        return await LoadAsync(force: false, cancellationToken).ConfigureAwait(false);
    }

    public void Invalidate() => Volatile.Write(ref _loadedAt, long.MinValue / 2);

    public async Task<PriceBook> LoadAsync(bool force, CancellationToken cancellationToken)
    {
        // Writers that find the prices stale at once may each read them: a small table, and the same answer.
        if (!force && Volatile.Read(ref _book) is { } book && Environment.TickCount64 - Volatile.Read(ref _loadedAt) < options.PriceRefreshInterval.TotalMilliseconds)
        {
            return book;
        }

        var prices = await ReadAsync(dataSource, cancellationToken).ConfigureAwait(false);
        var loaded = new PriceBook(prices, options.UseDefaultPrices ? PriceTable.Default : null);
        Volatile.Write(ref _book, loaded);
        Volatile.Write(ref _loadedAt, Environment.TickCount64);
        return loaded;
    }

    public static async Task<List<ChatCompletionPrice>> ReadAsync(NpgsqlDataSource dataSource, CancellationToken cancellationToken)
    {
        var prices = new List<ChatCompletionPrice>();
        await using var command = dataSource.CreateCommand(PriceSql.Load);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            // A class this version does not know (a later one wrote it) is left out.
            if (PriceMembers.Parse(reader.GetString(1)) is { } tokenClass)
            {
                prices.Add(new ChatCompletionPrice(reader.GetString(0), tokenClass, reader.GetDecimal(2), reader.GetFieldValue<DateTimeOffset>(3)));
            }
        }

        return prices;
    }
}

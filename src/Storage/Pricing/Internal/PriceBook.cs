namespace Storage.Internal;

/// <summary>
/// The prices a store computes costs with: the database's price table, then (for models it does not name) the default
/// table. Per model and class, the price in force at a time is the latest whose effective-from is not after it; before a
/// model's first price of a class, that first price holds, so a first import also prices what was stored before it.
/// </summary>
internal sealed class PriceBook
{
    public static readonly PriceBook Empty = new([], null);

    private readonly Dictionary<string, (DateTimeOffset From, decimal Price)[][]> _models;

    public PriceBook(IEnumerable<ChatCompletionPrice> prices, PriceTable? fallback)
    {
        _models = prices
            .GroupBy(p => p.Model, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => Classes(g), StringComparer.Ordinal);
        if (fallback is not null)
        {
            foreach (var price in fallback.ToPrices(PriceTable.DefaultDate).GroupBy(p => p.Model, StringComparer.Ordinal))
            {
                _models.TryAdd(price.Key, Classes(price));
            }
        }
    }

    public int Count => _models.Count;

    /// <summary>The prices in force for the model at <paramref name="at"/>, indexed by <see cref="PriceTokenClass"/>; <c>null</c> when the table does not know the model.</summary>
    public decimal?[]? Find(string model, DateTimeOffset at)
    {
        if (!_models.TryGetValue(model, out var classes))
        {
            var slash = model.IndexOf('/', StringComparison.Ordinal);
            if (slash < 0 || !_models.TryGetValue(model[(slash + 1)..], out classes))
            {
                return null;
            }
        }

        var prices = new decimal?[classes.Length];
        for (var i = 0; i < classes.Length; i++)
        {
            var history = classes[i];
            if (history.Length == 0)
            {
                continue;
            }

            var price = history[0].Price;
            foreach (var (from, value) in history)
            {
                if (from > at)
                {
                    break;
                }

                price = value;
            }

            prices[i] = price;
        }

        return prices;
    }

    private static (DateTimeOffset From, decimal Price)[][] Classes(IEnumerable<ChatCompletionPrice> prices)
    {
        var classes = new (DateTimeOffset, decimal)[PriceMembers.All.Length][];
        for (var i = 0; i < classes.Length; i++)
        {
            classes[i] = prices.Where(p => (int)p.TokenClass == i).OrderBy(p => p.EffectiveFrom).Select(p => (p.EffectiveFrom, p.UsdPerToken)).ToArray();
        }

        return classes;
    }
}

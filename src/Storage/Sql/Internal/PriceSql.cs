namespace Storage.Internal;

/// <summary>The statements on the price table, which the migration creates (CostSql) and only its owner writes.</summary>
internal static class PriceSql
{
    public const string Table = "chat_completion_prices";

    public const string Load = $"SELECT model, token_class, usd_per_token, effective_from FROM {Table} ORDER BY model, token_class, effective_from";

    // One statement for the whole file: a price already there for the same model, class and time is replaced.
    public const string Import = $"""
        INSERT INTO {Table} AS p (model, token_class, usd_per_token, effective_from)
        SELECT * FROM unnest(@models, @classes, @prices, @effective_from)
        ON CONFLICT (model, token_class, effective_from) DO UPDATE SET usd_per_token = excluded.usd_per_token
        """;

    // Only rows whose cost changes are written, so the rollup's trigger sees exactly the differences.
    public const string Reprice = $"""
        UPDATE {ChatCompletionConfiguration.TableName} AS c
        SET cost = u.cost, cost_source = u.cost_source, cost_clamped = u.cost_clamped
        FROM unnest(@keys, @created, @cost, @cost_source, @cost_clamped) AS u (completion_key, created, cost, cost_source, cost_clamped)
        WHERE c.tenant = @tenant AND c.completion_key = u.completion_key AND c.created = u.created
            AND (c.cost IS DISTINCT FROM u.cost OR c.cost_source IS DISTINCT FROM u.cost_source OR c.cost_clamped <> u.cost_clamped)
        """;
}

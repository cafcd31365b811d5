namespace Storage.Internal;

/// <summary>
/// The text of the usage totals' statements (<see cref="UsageQuery"/> picks one and supplies its conditions, each with
/// its parameters): a scan of the completions, or the per-day rollup (its stripes summed) with the partial days at the
/// range's edges.
/// </summary>
internal static class UsageSql
{
    public const string RollupTable = "chat_completion_usage_daily";

    public const string HourlyRollupTable = "chat_completion_usage_hourly";

    /// <summary>Folds the stripes of past days and hours (a function the migration creates); returns how many rows it folded.</summary>
    public const string Compact = "SELECT storage_compact_usage()";

    // sum(bigint) and sum(numeric) are numeric in PostgreSQL, so no total can overflow. The details are jsonb as the
    // vendor sent them; storage_token_count, a function the migration creates and the rollup's triggers call too,
    // counts only JSON numbers, so a malformed value cannot fail the whole report.
    private const string RowTotals = """
        SELECT c.model, (c.created AT TIME ZONE 'UTC')::date AS day, 1 AS completions,
            coalesce(c.usage_prompt_tokens, 0)::numeric AS prompt_tokens,
            coalesce(c.usage_completion_tokens, 0)::numeric AS completion_tokens,
            coalesce(c.usage_total_tokens, 0)::numeric AS total_tokens,
            storage_token_count(c.usage_prompt_tokens_details, 'cached_tokens') AS cached_tokens,
            storage_token_count(c.usage_completion_tokens_details, 'reasoning_tokens') AS reasoning_tokens,
            coalesce(c.cost, 0) AS cost, (c.cost IS NULL)::int AS unpriced
        """;

    private const string Sums = """
        coalesce(sum(u.completions), 0)::bigint AS completions,
        coalesce(sum(u.prompt_tokens), 0) AS prompt_tokens,
        coalesce(sum(u.completion_tokens), 0) AS completion_tokens,
        coalesce(sum(u.total_tokens), 0) AS total_tokens,
        coalesce(sum(u.cached_tokens), 0) AS cached_tokens,
        coalesce(sum(u.reasoning_tokens), 0) AS reasoning_tokens,
        coalesce(sum(u.cost), 0) AS cost,
        coalesce(sum(u.unpriced), 0)::bigint AS unpriced
        """;

    /// <summary>Sums every row that meets the conditions, with the value of a metadata key (or <c>NULL::text</c>) as the third group.</summary>
    public static string Scan(ChatCompletionUsageGrouping grouping, string metadataValue, IEnumerable<string> conditions) => $"""
        SELECT {Select(grouping)}, {(grouping.ByMetadataKey is null ? "NULL::text" : "u.metadata_value")} AS metadata_value, {Sums}
        FROM ({RowTotals}, {metadataValue} AS metadata_value
            FROM {ChatCompletionConfiguration.TableName} AS c
            WHERE {string.Join(" AND ", conditions)}) AS u
        {GroupBy(grouping)}
        """;

    /// <summary>The completion <c>c</c> has a choice <c>h</c> for which the condition holds.</summary>
    public static string AnyChoice(string condition) => $"""
        EXISTS (SELECT FROM {ChatChoiceConfiguration.TableName} AS h
            WHERE h.completion_key = c.completion_key AND h.created = c.created AND h.tenant = c.tenant AND {condition})
        """;

    /// <summary>
    /// The completion <c>c</c> has no choice <c>h</c> for which the condition holds. On Citus a count of them: Citus
    /// refuses a NOT EXISTS (an anti-join) of a table under row-level security, which PostgreSQL has made a subquery
    /// ("complex joins are only supported when all distributed tables are co-located and joined on their distribution
    /// columns"), and runs the count, correlated by the distribution column, on each shard. On one node the anti-join.
    /// </summary>
    public static string NoChoice(string condition, bool onCitus) => onCitus
        ? $"""
            (SELECT count(*) FROM {ChatChoiceConfiguration.TableName} AS h
                WHERE h.completion_key = c.completion_key AND h.created = c.created AND h.tenant = c.tenant AND {condition}) = 0
            """
        : "NOT " + AnyChoice(condition);

    /// <summary>
    /// The completion <c>c</c> is among those whose choices' text or stored request hold the ILIKE pattern (backslash
    /// the escape): the same columns and functions as the LINQ search (<see cref="CompletionFilters"/>), and the same
    /// union of the two sides' keys, which their trigram indexes serve when a deployment turned them on. The two sides
    /// name the tenant by the query's <c>@tenant</c>, not by <c>c</c>: uncorrelated, the EXISTS becomes a semi-join.
    /// </summary>
    public static string Search(string pattern) => $"""
        EXISTS (SELECT FROM (
                SELECT h.completion_key, h.created FROM {ChatChoiceConfiguration.TableName} AS h
                WHERE h.tenant = @tenant AND (h.message_content ILIKE {pattern}
                    OR {SearchText.PartsFunction}(h.message_content_parts) ILIKE {pattern}
                    OR h.message_refusal ILIKE {pattern}
                    OR h.message_reasoning ILIKE {pattern}
                    OR h.message_reasoning_content ILIKE {pattern}
                    OR {SearchText.ToolCallsFunction}(h.message_tool_calls) ILIKE {pattern})
                UNION ALL
                SELECT r.completion_key, r.created FROM {ChatCompletionConfiguration.TableName} AS r
                WHERE r.tenant = @tenant AND {SearchText.RequestFunction}(r.call_request) ILIKE {pattern}) AS s
            WHERE s.completion_key = c.completion_key AND s.created = c.created)
        """;

    /// <summary>
    /// Within <paramref name="scope"/> (tenant, model), the daily rollup's rows in one of <paramref name="days"/>, the
    /// hourly rollup's in one of <paramref name="hours"/>, and the completions in one of <paramref name="rows"/>; a part
    /// with no ranges is left out.
    /// </summary>
    public static string FromRollup(
        ChatCompletionUsageGrouping grouping, IReadOnlyCollection<string> scope, IReadOnlyCollection<string> days, IReadOnlyCollection<string> hours, IReadOnlyCollection<string> rows)
    {
        var parts = new List<string>();
        if (days.Count > 0)
        {
            parts.Add($"""
                SELECT d.model, d.day, {RollupTotals}
                FROM {RollupTable} AS d
                WHERE {Where("d", scope, days)}
                """);
        }

        if (hours.Count > 0)
        {
            parts.Add($"""
                SELECT d.model, (d.hour AT TIME ZONE 'UTC')::date AS day, {RollupTotals}
                FROM {HourlyRollupTable} AS d
                WHERE {Where("d", scope, hours)}
                """);
        }

        if (rows.Count > 0)
        {
            parts.Add($"""
                {RowTotals}
                FROM {ChatCompletionConfiguration.TableName} AS c
                WHERE {Where("c", scope, rows)}
                """);
        }

        // An empty range still answers its one ungrouped row of zeros.
        var union = parts.Count == 0 ? $"SELECT d.model, d.day, {RollupTotals} FROM {RollupTable} AS d WHERE FALSE" : string.Join("\nUNION ALL\n", parts);
        return $"""
            SELECT {Select(grouping)}, NULL::text AS metadata_value, {Sums}
            FROM ({union}) AS u
            {GroupBy(grouping)}
            """;
    }

    private const string RollupTotals = "d.completions, d.prompt_tokens, d.completion_tokens, d.total_tokens, d.cached_tokens, d.reasoning_tokens, d.cost, d.unpriced";

    // The scope's conditions (each on a bare column) on the alias, and any one of the ranges.
    private static string Where(string alias, IEnumerable<string> scope, IEnumerable<string> ranges) =>
        $"{string.Join(" AND ", scope.Select(condition => $"{alias}.{condition}"))} AND (({string.Join(") OR (", ranges)}))";

    private static string Select(ChatCompletionUsageGrouping grouping) =>
        $"{(grouping.ByModel ? "u.model" : "NULL::text")} AS model, {(grouping.ByDay ? "u.day" : "NULL::date")} AS day";

    // Grouped totals list only groups that hold a completion: the rollup keeps rows whose completions were deleted.
    private static string GroupBy(ChatCompletionUsageGrouping grouping)
    {
        var groups = new List<string>();
        if (grouping.ByModel)
        {
            groups.Add("1");
        }

        if (grouping.ByDay)
        {
            groups.Add("2");
        }

        if (grouping.ByMetadataKey is not null)
        {
            groups.Add("3");
        }

        return groups.Count == 0
            ? ""
            : $"GROUP BY {string.Join(", ", groups)} HAVING sum(u.completions) > 0 ORDER BY {string.Join(", ", groups)}";
    }
}

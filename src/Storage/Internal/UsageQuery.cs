using Npgsql;
using NpgsqlTypes;

namespace Storage.Internal;

/// <summary>
/// The SQL of the usage totals. Hand-written rather than LINQ because EF cannot translate "the value of metadata key k"
/// on a value-converted column; the text depends only on which groupings are on, and every value is a parameter.
/// </summary>
internal sealed record UsageQuery(string Sql, object[] Parameters)
{
    // sum(bigint) and sum(numeric) are numeric in PostgreSQL, so no total can overflow. The details are jsonb as the
    // vendor sent them; only JSON numbers count, so a malformed value cannot fail the whole report.
    private const string Totals = """
        count(*) AS completions,
        coalesce(sum(c.usage_prompt_tokens), 0) AS prompt_tokens,
        coalesce(sum(c.usage_completion_tokens), 0) AS completion_tokens,
        coalesce(sum(c.usage_total_tokens), 0) AS total_tokens,
        coalesce(sum(CASE WHEN jsonb_typeof(c.usage_prompt_tokens_details -> 'cached_tokens') = 'number'
            THEN (c.usage_prompt_tokens_details ->> 'cached_tokens')::numeric END), 0) AS cached_tokens,
        coalesce(sum(CASE WHEN jsonb_typeof(c.usage_completion_tokens_details -> 'reasoning_tokens') = 'number'
            THEN (c.usage_completion_tokens_details ->> 'reasoning_tokens')::numeric END), 0) AS reasoning_tokens
        """;

    public static UsageQuery Build(ChatCompletionFilter? filter, ChatCompletionUsageGrouping grouping)
    {
        var parameters = new List<object>();
        var conditions = Conditions(filter, parameters);

        var groupKey = grouping.ByMetadataKey;
        string metadataValue;
        if (groupKey is null)
        {
            metadataValue = "NULL::text";
        }
        else if (FilterValues.IsStorable(groupKey))
        {
            metadataValue = "c.metadata ->> @group_key";
            parameters.Add(new NpgsqlParameter("group_key", NpgsqlDbType.Text) { Value = groupKey });
        }
        else
        {
            // No stored key holds such a character: every completion lacks it.
            metadataValue = "NULL::text";
        }

        var groups = new List<string>();
        if (grouping.ByModel)
        {
            groups.Add("1");
        }

        if (grouping.ByDay)
        {
            groups.Add("2");
        }

        if (groupKey is not null)
        {
            groups.Add("3");
        }

        var sql = $"""
            SELECT {(grouping.ByModel ? "c.model" : "NULL::text")} AS model,
            {(grouping.ByDay ? "(c.created AT TIME ZONE 'UTC')::date" : "NULL::date")} AS day,
            {metadataValue} AS metadata_value,
            {Totals}
            FROM {ChatCompletionConfiguration.TableName} AS c
            {(conditions.Count == 0 ? "" : "WHERE " + string.Join(" AND ", conditions))}
            {(groups.Count == 0 ? "" : "GROUP BY " + string.Join(", ", groups) + " ORDER BY " + string.Join(", ", groups))}
            """;
        return new UsageQuery(sql, [.. parameters]);
    }

    private static List<string> Conditions(ChatCompletionFilter? filter, List<object> parameters)
    {
        var conditions = new List<string>();
        if (filter is null)
        {
            return conditions;
        }

        if (!FilterValues.CanMatch(filter))
        {
            conditions.Add("FALSE");
            return conditions;
        }

        if (filter.Model is { } model)
        {
            conditions.Add("c.model = @model");
            parameters.Add(new NpgsqlParameter("model", NpgsqlDbType.Text) { Value = model });
        }

        if (FilterValues.ContainedMetadata(filter) is { } contained)
        {
            conditions.Add("c.metadata @> @metadata");
            parameters.Add(new NpgsqlParameter("metadata", NpgsqlDbType.Jsonb) { Value = contained });
        }

        if (filter.CreatedFrom is { } from)
        {
            conditions.Add("c.created >= @created_from");
            parameters.Add(new NpgsqlParameter("created_from", NpgsqlDbType.TimestampTz) { Value = from.ToUniversalTime() });
        }

        if (filter.CreatedTo is { } to)
        {
            conditions.Add("c.created <= @created_to");
            parameters.Add(new NpgsqlParameter("created_to", NpgsqlDbType.TimestampTz) { Value = to.ToUniversalTime() });
        }

        return conditions;
    }
}

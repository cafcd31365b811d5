namespace Storage.Internal;

/// <summary>
/// Usage and cost per time bucket (<c>date_bin</c> from the range's start), for OpenAI's organisation Usage and Costs
/// shapes: a scan of the tenant's rows in the range through the (tenant, created) index.
/// </summary>
internal static class BucketSql
{
    public static string Buckets(bool byModel) => $"""
        SELECT date_bin(@width, c.created, @origin) AS bucket_start, {(byModel ? "c.model" : "NULL::text")} AS model,
            count(*) AS completions,
            coalesce(sum(c.usage_prompt_tokens), 0)::numeric AS input_tokens,
            coalesce(sum(c.usage_completion_tokens), 0)::numeric AS output_tokens,
            sum(storage_token_count(c.usage_prompt_tokens_details, 'cached_tokens')) AS input_cached_tokens,
            sum(storage_token_count(c.usage_prompt_tokens_details, 'audio_tokens')) AS input_audio_tokens,
            sum(storage_token_count(c.usage_completion_tokens_details, 'audio_tokens')) AS output_audio_tokens,
            coalesce(sum(c.cost), 0) AS cost,
            count(*) FILTER (WHERE c.cost IS NULL) AS unpriced
        FROM {ChatCompletionConfiguration.TableName} AS c
        WHERE c.tenant = @tenant AND c.created >= @start AND c.created < @end
        GROUP BY 1, 2
        ORDER BY 1, 2
        """;
}

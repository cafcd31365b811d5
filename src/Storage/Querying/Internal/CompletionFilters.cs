using Microsoft.EntityFrameworkCore;

namespace Storage.Internal;

/// <summary>
/// <see cref="ChatCompletionFilter"/> as LINQ over the completions: the one translation of a filter that the list,
/// export and retention queries share (the usage totals, written in SQL, have theirs in <see cref="UsageQuery"/>).
/// </summary>
internal static class CompletionFilters
{
    // The escape character of the search's ILIKE pattern (FilterValues.LikePattern).
    private const string Escape = @"\";

    /// <summary>
    /// The filter as SQL predicates: equality, jsonb containment (<c>@&gt;</c>), ranges, choice conditions as EXISTS,
    /// and the search as ILIKE over the text columns; all values parameters. <paramref name="db"/> is the context the
    /// query runs on, whose tables the search reads beside the completion.
    /// </summary>
    internal static IQueryable<ChatCompletion> Matching(this IQueryable<ChatCompletion> query, ChatCompletionDbContext db, ChatCompletionFilter? filter)
    {
        if (filter is null)
        {
            return query;
        }

        if (!FilterValues.CanMatch(filter))
        {
            return query.Where(c => false);
        }

        if (filter.Model is { } model)
        {
            query = query.Where(c => c.Model == model);
        }

        if (FilterValues.ContainedMetadata(filter) is { } contained)
        {
            query = query.Where(c => EF.Functions.JsonContains(c.Metadata!, contained));
        }

        if (filter.CreatedFrom is { } createdFrom)
        {
            var from = createdFrom.ToUniversalTime();
            query = query.Where(c => c.Created >= from);
        }

        if (filter.CreatedTo is { } createdTo)
        {
            var to = createdTo.ToUniversalTime();
            query = query.Where(c => c.Created <= to);
        }

        if (filter.ServiceTier is { } serviceTier)
        {
            query = query.Where(c => c.ServiceTier == serviceTier);
        }

        if (filter.MinTotalTokens is { } minTokens)
        {
            query = query.Where(c => c.Usage!.TotalTokens >= minTokens);
        }

        if (filter.MaxTotalTokens is { } maxTokens)
        {
            query = query.Where(c => c.Usage!.TotalTokens <= maxTokens);
        }

        if (filter.MinLatency is { } minLatency)
        {
            query = query.Where(c => c.Call!.Latency >= minLatency);
        }

        if (filter.MaxLatency is { } maxLatency)
        {
            query = query.Where(c => c.Call!.Latency <= maxLatency);
        }

        if (filter.FinishReason is { } finishReason)
        {
            query = query.Where(c => c.Choices.Any(h => h.FinishReason == finishReason));
        }

        if (filter.ToolName is { } toolName)
        {
            var function = FilterValues.ToolCallContaining("function", toolName);
            var custom = FilterValues.ToolCallContaining("custom", toolName);
            query = query.Where(c => c.Choices.Any(h =>
                EF.Functions.JsonContains(h.Message.ToolCalls!, function) || EF.Functions.JsonContains(h.Message.ToolCalls!, custom)));
        }

        if (filter.HasToolCalls is { } hasToolCalls)
        {
            query = hasToolCalls
                ? query.Where(c => c.Choices.Any(h => EF.Functions.JsonContains(h.Message.ToolCalls!, FilterValues.AnyToolCall)))
                : db.OnCitus
                    // A count rather than NOT EXISTS, which Citus refuses under row-level security (UsageSql.NoChoice).
                    ? query.Where(c => c.Choices.Count(h => EF.Functions.JsonContains(h.Message.ToolCalls!, FilterValues.AnyToolCall)) == 0)
                    : query.Where(c => !c.Choices.Any(h => EF.Functions.JsonContains(h.Message.ToolCalls!, FilterValues.AnyToolCall)));
        }

        if (FilterValues.Searched(filter) is { } search)
        {
            query = query.Where(Searching(db, FilterValues.LikePattern(search)));
        }

        return query;
    }

    /// <summary>
    /// The search asked of each completion in turn: its choices (a correlated EXISTS on their key) or its stored request
    /// hold the pattern. For a page over the newest completions (<see cref="CompletionQueries"/>), where a common term
    /// is found within the first rows walked and the semi-join of <see cref="Searching"/> would first collect every match.
    /// </summary>
    internal static System.Linq.Expressions.Expression<Func<ChatCompletion, bool>> SearchingRowByRow(ChatCompletionDbContext db, string pattern) =>
        c => db.Choices.Any(h => EF.Property<long>(h, ShadowProperties.CompletionKey) == EF.Property<long>(c, ShadowProperties.CompletionKey)
                // created as a range of one value rather than an equality: PostgreSQL turns an EXISTS correlated by
                // equalities alone into a hash of every matching choice in the table, which it prefers when the trigram
                // indexes make that look cheap (seconds for a common term); this way the check can only run row by row.
                && EF.Property<DateTimeOffset>(h, ShadowProperties.CompletionCreated) >= c.Created
                && EF.Property<DateTimeOffset>(h, ShadowProperties.CompletionCreated) <= c.Created
                && (EF.Functions.ILike(h.Message.ContentText!, pattern, Escape)
                    || EF.Functions.ILike(SearchText.Parts(h.Message.ContentParts)!, pattern, Escape)
                    || EF.Functions.ILike(h.Message.Refusal!, pattern, Escape)
                    || EF.Functions.ILike(h.Message.Reasoning!, pattern, Escape)
                    || EF.Functions.ILike(h.Message.ReasoningContent!, pattern, Escape)
                    || EF.Functions.ILike(SearchText.ToolCalls(h.Message.ToolCalls)!, pattern, Escape)))
            || EF.Functions.ILike(SearchText.Request(c.Call!.RequestJson)!, pattern, Escape);

    /// <summary>
    /// The completions whose choices or stored request hold the pattern: a semi-join on the union of the matching choices'
    /// keys and the matching requests' keys, so each side can be read through its trigram indexes (an OR of the two inside
    /// the completion's WHERE could not be) or, without them, scanned once.
    /// </summary>
    private static System.Linq.Expressions.Expression<Func<ChatCompletion, bool>> Searching(ChatCompletionDbContext db, string pattern)
    {
        var hits = db.Choices
            .Where(h => EF.Functions.ILike(h.Message.ContentText!, pattern, Escape)
                || EF.Functions.ILike(SearchText.Parts(h.Message.ContentParts)!, pattern, Escape)
                || EF.Functions.ILike(h.Message.Refusal!, pattern, Escape)
                || EF.Functions.ILike(h.Message.Reasoning!, pattern, Escape)
                || EF.Functions.ILike(h.Message.ReasoningContent!, pattern, Escape)
                || EF.Functions.ILike(SearchText.ToolCalls(h.Message.ToolCalls)!, pattern, Escape))
            .Select(h => new SearchHit { Key = EF.Property<long>(h, ShadowProperties.CompletionKey), Created = EF.Property<DateTimeOffset>(h, ShadowProperties.CompletionCreated) })
            .Concat(db.Completions
                .Where(r => EF.Functions.ILike(SearchText.Request(r.Call!.RequestJson)!, pattern, Escape))
                .Select(r => new SearchHit { Key = EF.Property<long>(r, ShadowProperties.CompletionKey), Created = r.Created }));
        return c => hits.Any(hit => hit.Key == EF.Property<long>(c, ShadowProperties.CompletionKey) && hit.Created == c.Created);
    }

    // Member initialization, not a constructor: EF translates a set operation over it.
    private sealed class SearchHit
    {
        public long Key { get; init; }

        public DateTimeOffset Created { get; init; }
    }
}

using Microsoft.EntityFrameworkCore;

namespace Storage.Internal;

/// <summary>
/// <see cref="ChatCompletionFilter"/> as LINQ over the completions: the one translation of a filter that the list,
/// export and retention queries share (the usage totals, written in SQL, have theirs in <see cref="UsageQuery"/>).
/// </summary>
internal static class CompletionFilters
{
    /// <summary>The filter as SQL predicates: equality, jsonb containment (<c>@&gt;</c>) and a created range, all parameters.</summary>
    internal static IQueryable<ChatCompletion> Matching(this IQueryable<ChatCompletion> query, ChatCompletionFilter? filter)
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

        return query;
    }
}

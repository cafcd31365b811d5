namespace Storage;

/// <summary>One page of a completion list, shaped like OpenAI's list object (<c>data</c>, <c>first_id</c>, <c>last_id</c>, <c>has_more</c>).</summary>
/// <param name="Items">The completions of the page, with their choices, in the requested order.</param>
/// <param name="HasMore">Whether more completions follow in this order: pass <see cref="LastId"/> as <c>after</c> to get them.</param>
public sealed record ChatCompletionPage(IReadOnlyList<ChatCompletion> Items, bool HasMore)
{
    /// <summary>
    /// What each item cost (as <see cref="StoredChatCompletion.Cost"/>), at the same position as in <see cref="Items"/>;
    /// <c>null</c> for an unpriced item. The store's pages always carry it; a page built without it has none.
    /// </summary>
    public IReadOnlyList<ChatCompletionCost?> Costs { get; init; } = [];

    /// <summary>The vendor id of the first item; <c>null</c> on an empty page.</summary>
    public string? FirstId => Items.Count == 0 ? null : Items[0].Id;

    /// <summary>The vendor id of the last item, the <c>after</c> of the next page; <c>null</c> on an empty page.</summary>
    public string? LastId => Items.Count == 0 ? null : Items[^1].Id;
}

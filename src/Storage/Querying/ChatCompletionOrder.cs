namespace Storage;

/// <summary>The order of a list of completions: by <c>created</c>, ties broken by a stable storage key.</summary>
public enum ChatCompletionOrder
{
    /// <summary>Newest first (OpenAI's <c>desc</c>), the default: what OpenAI's live API returns when no order is sent.</summary>
    Descending,

    /// <summary>Oldest first (OpenAI's <c>asc</c>).</summary>
    Ascending,
}

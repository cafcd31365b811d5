namespace Storage;

/// <summary>What <see cref="ChatCompletionStore.SaveManyAsync(IAsyncEnumerable{ChatCompletion}, CancellationToken)"/> did with one input item.</summary>
/// <param name="Position">The item's zero-based position in the input sequence.</param>
/// <param name="Completion">The item as given.</param>
/// <param name="Outcome">Stored or already stored; <c>null</c> when the item was rejected.</param>
/// <param name="Error">Why the item was rejected (usually a <see cref="ChatCompletionValidationException"/>); <c>null</c> otherwise.</param>
public sealed record BulkSaveResult(long Position, ChatCompletion Completion, SaveOutcome? Outcome, ChatCompletionStoreException? Error)
{
    /// <summary>Whether the item was rejected and not written.</summary>
    public bool IsRejected => Error is not null;
}

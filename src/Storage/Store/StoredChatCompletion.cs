namespace Storage;

/// <summary>A stored completion together with the version of its row, for optimistic updates.</summary>
/// <param name="Completion">The completion, with its choices and its current metadata.</param>
/// <param name="Version">
/// An opaque token that changes whenever the row is written. Pass it to
/// <see cref="ChatCompletionStore.UpdateMetadataAsync"/> so the update fails instead of overwriting a change made since
/// this read. It is plain ASCII without quotes, usable as an HTTP entity tag (<c>ETag</c>/<c>If-Match</c>).
/// </param>
public sealed record StoredChatCompletion(ChatCompletion Completion, string Version)
{
    /// <summary>What the completion cost, as computed when it was stored or last repriced; <c>null</c> when it is unpriced.</summary>
    public ChatCompletionCost? Cost { get; init; }
}

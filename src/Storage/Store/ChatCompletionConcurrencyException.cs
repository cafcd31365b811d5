namespace Storage;

/// <summary>
/// An update named the version it read, but the completion was changed, deleted or superseded (another completion with
/// the same vendor id was stored) since; nothing was written. Read it again and retry, or report a conflict
/// (HTTP 412 for a failed <c>If-Match</c>).
/// </summary>
public sealed class ChatCompletionConcurrencyException : ChatCompletionStoreException
{
    /// <summary>Creates the exception.</summary>
    public ChatCompletionConcurrencyException(string id, string expectedVersion, string? currentVersion, Exception? innerException = null)
        : base("Could not update the completion: it changed since the expected version was read.", innerException)
    {
        Id = id;
        ExpectedVersion = expectedVersion;
        CurrentVersion = currentVersion;
    }

    /// <summary>The vendor id of the completion.</summary>
    public string Id { get; }

    /// <summary>The version the caller read.</summary>
    public string ExpectedVersion { get; }

    /// <summary>The version now stored under the id; <c>null</c> when no completion has the id any more.</summary>
    public string? CurrentVersion { get; }
}

namespace Storage;

/// <summary>The split of a completion's prompt tokens.</summary>
public sealed class ChatPromptTokensDetails : WireObject
{
    /// <summary>Prompt tokens served from the cache.</summary>
    public long? CachedTokens { get; set; }

    /// <summary>Prompt tokens written to the cache.</summary>
    public long? CacheWriteTokens { get; set; }

    /// <summary>Audio tokens in the prompt.</summary>
    public long? AudioTokens { get; set; }

    /// <summary>Text tokens in the prompt.</summary>
    public long? TextTokens { get; set; }

    /// <summary>Image tokens in the prompt.</summary>
    public long? ImageTokens { get; set; }
}

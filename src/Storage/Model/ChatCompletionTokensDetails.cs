namespace Storage;

/// <summary>The split of a completion's output tokens.</summary>
public sealed class ChatCompletionTokensDetails : WireObject
{
    /// <summary>Tokens spent on reasoning.</summary>
    public long? ReasoningTokens { get; set; }

    /// <summary>Audio tokens in the output.</summary>
    public long? AudioTokens { get; set; }

    /// <summary>Text tokens in the output.</summary>
    public long? TextTokens { get; set; }

    /// <summary>Predicted-output tokens that appeared in the completion.</summary>
    public long? AcceptedPredictionTokens { get; set; }

    /// <summary>Predicted-output tokens that did not appear in the completion.</summary>
    public long? RejectedPredictionTokens { get; set; }
}

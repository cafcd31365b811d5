namespace Storage;

/// <summary>
/// Token usage of a completion, stored as the vendor sent it: no invariant such as
/// <c>total = prompt + completion</c> is assumed (Gemini breaks it).
/// </summary>
public sealed class ChatUsage : WireObject
{
    /// <summary>Tokens in the prompt.</summary>
    public required long PromptTokens { get; set; }

    /// <summary>Tokens in the completion.</summary>
    public required long CompletionTokens { get; set; }

    /// <summary>Tokens billed in total.</summary>
    public required long TotalTokens { get; set; }

    /// <summary>The split of the prompt tokens.</summary>
    public ChatPromptTokensDetails? PromptTokensDetails { get; set; }

    /// <summary>The split of the completion tokens.</summary>
    public ChatCompletionTokensDetails? CompletionTokensDetails { get; set; }
}

namespace Storage;

/// <summary>Log probabilities of a choice's tokens.</summary>
public sealed class ChatLogprobs : WireObject
{
    /// <summary>The content tokens.</summary>
    public IList<ChatTokenLogprob>? Content { get; set; }

    /// <summary>The refusal tokens.</summary>
    public IList<ChatTokenLogprob>? Refusal { get; set; }
}

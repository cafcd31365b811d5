namespace Storage;

/// <summary>One choice of a <see cref="ChatCompletion"/>.</summary>
public sealed class ChatChoice : WireObject
{
    /// <summary>The position of this choice among the completion's choices; unique within a completion.</summary>
    public required int Index { get; set; }

    /// <summary>The message the model produced.</summary>
    public required ChatCompletionMessage Message { get; set; }

    /// <summary>Why generation stopped: an open set of strings (<c>stop</c>, <c>length</c>, <c>tool_calls</c>, <c>""</c>, …).</summary>
    public string? FinishReason { get; set; }

    /// <summary>Token log probabilities, when they were requested.</summary>
    public ChatLogprobs? Logprobs { get; set; }
}

namespace Storage;

/// <summary>A token with its log probability and the most likely alternatives.</summary>
public sealed class ChatTokenLogprob : WireObject
{
    /// <summary>The token.</summary>
    public string? Token { get; set; }

    /// <summary>The token's log probability (<c>-9999.0</c> outside the top 20).</summary>
    public double? Logprob { get; set; }

    /// <summary>The token's UTF-8 bytes (possibly part of a character), or <c>null</c> for special tokens.</summary>
    public IList<int>? Bytes { get; set; }

    /// <summary>The most likely tokens at this position.</summary>
    public IList<ChatTopLogprob>? TopLogprobs { get; set; }
}

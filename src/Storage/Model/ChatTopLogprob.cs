namespace Storage;

/// <summary>One of the most likely tokens at a position.</summary>
public sealed class ChatTopLogprob : WireObject
{
    /// <summary>The token.</summary>
    public string? Token { get; set; }

    /// <summary>The token's log probability.</summary>
    public double? Logprob { get; set; }

    /// <summary>The token's UTF-8 bytes, or <c>null</c> for special tokens.</summary>
    public IList<int>? Bytes { get; set; }
}

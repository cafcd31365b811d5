namespace Storage;

/// <summary>A URL cited by the content.</summary>
public sealed class ChatUrlCitation : WireObject
{
    /// <summary>The character offset in the content where the citation starts.</summary>
    public int? StartIndex { get; set; }

    /// <summary>The character offset in the content where the citation ends.</summary>
    public int? EndIndex { get; set; }

    /// <summary>The cited URL.</summary>
    public string? Url { get; set; }

    /// <summary>The cited page's title.</summary>
    public string? Title { get; set; }
}

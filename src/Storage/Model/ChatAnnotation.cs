namespace Storage;

/// <summary>An annotation of message content, such as a URL citation.</summary>
public sealed class ChatAnnotation : WireObject
{
    /// <summary>The annotation type, <c>url_citation</c> in practice.</summary>
    public string? Type { get; set; }

    /// <summary>The citation, for <c>url_citation</c> annotations.</summary>
    public ChatUrlCitation? UrlCitation { get; set; }
}

namespace Storage;

/// <summary>A tool call of a message: a function call (<c>type: "function"</c>) or a custom tool call (<c>type: "custom"</c>).</summary>
public sealed class ChatToolCall : WireObject
{
    /// <summary>The call's id (may be <c>""</c>: Gemini).</summary>
    public string? Id { get; set; }

    /// <summary>The call type: an open set of strings; missing in Mistral's responses.</summary>
    public string? Type { get; set; }

    /// <summary>The function called, for function tool calls.</summary>
    public ChatFunction? Function { get; set; }

    /// <summary>The custom tool called, for custom tool calls.</summary>
    public ChatCustomToolCall? Custom { get; set; }
}

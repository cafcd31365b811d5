namespace Storage;

/// <summary>A function the model called: in a tool call, or as the deprecated <c>function_call</c>.</summary>
public sealed class ChatFunction : WireObject
{
    /// <summary>The function's name.</summary>
    public string? Name { get; set; }

    /// <summary>The arguments as the model wrote them: JSON text that may be invalid, kept as text.</summary>
    public string? Arguments { get; set; }
}

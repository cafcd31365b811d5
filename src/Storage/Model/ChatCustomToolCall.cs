namespace Storage;

/// <summary>A custom tool the model called, with free-form input.</summary>
public sealed class ChatCustomToolCall : WireObject
{
    /// <summary>The tool's name.</summary>
    public string? Name { get; set; }

    /// <summary>The input the model wrote for the tool.</summary>
    public string? Input { get; set; }
}

using System.Text.Json;

namespace Storage;

/// <summary>The message of a <see cref="ChatChoice"/>.</summary>
public sealed class ChatCompletionMessage : WireObject
{
    /// <summary>The author's role, <c>assistant</c> in practice.</summary>
    public string? Role { get; set; }

    /// <summary>The content: text, or an array of typed parts (Mistral); <c>null</c> with tool calls, refusals or audio.</summary>
    public ChatMessageContent? Content { get; set; }

    /// <summary>The refusal text, when the model refused.</summary>
    public string? Refusal { get; set; }

    /// <summary>The tool calls the model made.</summary>
    public IList<ChatToolCall>? ToolCalls { get; set; }

    /// <summary>The deprecated single function call.</summary>
    public ChatFunction? FunctionCall { get; set; }

    /// <summary>Audio output, when it was requested.</summary>
    public ChatAudio? Audio { get; set; }

    /// <summary>Annotations of the content, such as URL citations of web search.</summary>
    public IList<ChatAnnotation>? Annotations { get; set; }

    /// <summary>The reasoning text (OpenRouter, Groq, Ollama, Cerebras, vLLM).</summary>
    public string? Reasoning { get; set; }

    /// <summary>The reasoning text (DeepSeek, older vLLM, Z.ai).</summary>
    public string? ReasoningContent { get; set; }

    // The two columns behind Content: text goes to a text column, anything else to jsonb.
    internal string? ContentText
    {
        get => Content?.Text;
        set
        {
            if (value is not null)
            {
                Content = new ChatMessageContent(value);
            }
        }
    }

    internal string? ContentParts
    {
        get => Content?.Parts is { } parts ? parts.GetRawText() : null;
        set
        {
            if (value is not null)
            {
                Content = new ChatMessageContent(JsonElement.Parse(value));
            }
        }
    }
}

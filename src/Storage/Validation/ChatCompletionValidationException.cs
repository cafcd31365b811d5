namespace Storage;

/// <summary>A completion was rejected before anything was written. Names the field and the rule it broke.</summary>
public sealed class ChatCompletionValidationException : ChatCompletionStoreException
{
    /// <summary>Creates the exception.</summary>
    public ChatCompletionValidationException(string field, ChatCompletionValidationRule rule, string detail, Exception? innerException = null)
        : base($"Invalid chat completion: '{field}' {detail} ({rule}).", innerException)
    {
        Field = field;
        Rule = rule;
    }

    /// <summary>The path of the offending field in wire-format terms, such as <c>choices[0].message.content</c>; <c>$</c> for the whole document.</summary>
    public string Field { get; }

    /// <summary>The rule the field broke.</summary>
    public ChatCompletionValidationRule Rule { get; }
}

using System.Text.Json;

namespace Storage.Internal;

/// <summary>
/// Thrown by our converters so that the serializer adds the JSON path while the rule survives:
/// the serializer re-throws a <see cref="JsonException"/> with its <see cref="JsonException.Path"/> filled in.
/// </summary>
internal sealed class WireRuleException(ChatCompletionValidationRule rule, string message) : JsonException(message)
{
    public ChatCompletionValidationRule Rule { get; } = rule;
}

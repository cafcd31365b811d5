using System.Text.Json;
using System.Text.Json.Serialization;

namespace Storage.Internal;

/// <summary>
/// Reads floating-point members (log probabilities) as the default converter does, but rejects a number past the range
/// of a double (<c>1e309</c>): the default reads it as infinity, which JSON cannot write back, so the completion
/// would neither serialize nor store.
/// </summary>
internal sealed class FiniteDoubleConverter : JsonConverter<double>
{
    public override double Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.Number || !reader.TryGetDouble(out var value))
        {
            throw new WireRuleException(ChatCompletionValidationRule.InvalidValue, "must be a number");
        }

        return double.IsFinite(value)
            ? value
            : throw new WireRuleException(ChatCompletionValidationRule.OutOfRange, "is a number past the range of a double");
    }

    public override void Write(Utf8JsonWriter writer, double value, JsonSerializerOptions options) => writer.WriteNumberValue(value);
}

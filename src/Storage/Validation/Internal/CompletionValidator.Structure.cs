using System.Collections;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace Storage.Internal;

// The walk over what the serializer would write, for what JSON or jsonb cannot hold: depth, repeated and shadowing
// member names, numbers past numeric, NaN and infinity.
internal sealed partial class CompletionValidator
{
    /// <summary>
    /// Why a completion that passed <see cref="Validate"/> still could not be written as JSON or stored as jsonb, named by
    /// field: nesting past the serializer's depth limit, a member name twice in one object, an extension member named
    /// like a typed one (jsonb keeps only one of two equal names, so the completion would not read back as it was), a
    /// number past PostgreSQL's <c>numeric</c>, or a floating-point value JSON cannot spell (NaN, infinity).
    /// </summary>
    internal static ChatCompletionValidationException Unwritable(ChatCompletion completion, Exception? error) =>
        Structure(completion, "$", 0) ?? new("$", ChatCompletionValidationRule.InvalidValue, "cannot be written as JSON", error);

    private static ChatCompletionValidationException? Structure(object? value, string path, int depth)
    {
        if (value is WireObject or JsonElement { ValueKind: JsonValueKind.Object or JsonValueKind.Array } or IEnumerable and not string && ++depth > MaxDepth)
        {
            return Invalid(path, ChatCompletionValidationRule.TooLarge, $"nests deeper than {MaxDepth} levels");
        }

        switch (value)
        {
            case JsonElement { ValueKind: JsonValueKind.Number } number when !JsonbNumber.IsStorable(JsonMarshal.GetRawUtf8Value(number)):
                return Invalid(path, ChatCompletionValidationRule.OutOfRange, "is a number past what PostgreSQL's numeric holds (131072 digits before the point, 16383 after)");
            case double or float when !double.IsFinite(Convert.ToDouble(value, System.Globalization.CultureInfo.InvariantCulture)):
                return Invalid(path, ChatCompletionValidationRule.OutOfRange, "is NaN or infinite, which JSON cannot hold");
            case JsonElement { ValueKind: JsonValueKind.Object } element:
                var names = new HashSet<string>(StringComparer.Ordinal);
                foreach (var member in element.EnumerateObject())
                {
                    if (!names.Add(member.Name))
                    {
                        return Invalid(Member(path, member.Name), ChatCompletionValidationRule.MalformedJson, "repeats a member name of its object");
                    }

                    if (Structure(member.Value, Member(path, member.Name), depth) is { } inner)
                    {
                        return inner;
                    }
                }

                return null;
            case JsonElement { ValueKind: JsonValueKind.Array } element:
                var at = 0;
                foreach (var item in element.EnumerateArray())
                {
                    if (Structure(item, $"{path}[{at++}]", depth) is { } inner)
                    {
                        return inner;
                    }
                }

                return null;
            case ChatMessageContent { Parts: { } parts }:
                return Structure(parts, path, depth);
            case WireObject wire:
                foreach (var property in WireJson.Options.GetTypeInfo(wire.GetType()).Properties)
                {
                    if (!property.IsExtensionData && property.Get is { } get && Structure(get(wire), Member(path, property.Name), depth) is { } inner)
                    {
                        return inner;
                    }
                }

                foreach (var (name, element) in wire.AdditionalProperties ?? EmptyExtras)
                {
                    if (WireJson.IsKnownMember(wire.GetType(), name))
                    {
                        return Invalid(Member(path, name), ChatCompletionValidationRule.InvalidValue, "is an extension member with the name of a typed member");
                    }

                    if (Structure(element, Member(path, name), depth) is { } inner)
                    {
                        return inner;
                    }
                }

                return null;
            case IEnumerable items and not string and not IDictionary<string, string>:
                var index = 0;
                foreach (var item in items)
                {
                    if (Structure(item, $"{path}[{index++}]", depth) is { } inner)
                    {
                        return inner;
                    }
                }

                return null;
            default:
                return null;
        }
    }
}

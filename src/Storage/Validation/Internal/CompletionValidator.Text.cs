using System.Collections;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;

namespace Storage.Internal;

// The walks over every string, typed or not, for what PostgreSQL's text and jsonb cannot hold: U+0000 and lone
// surrogates. A cheap one without paths first; the one that names the field only when it found something.
internal sealed partial class CompletionValidator
{
    // The same walk as Strings, without paths. JSON values are judged on their raw UTF-8: NUL and lone surrogates
    // can only appear there as \u escapes or as invalid UTF-8, so a value with neither needs no closer look.
    private static bool HasUnstorableText(object? value)
    {
        switch (value)
        {
            case string text:
                return FindUnstorable(text) >= 0;
            case ChatMessageContent content:
                return (content.Text is { } contentText && FindUnstorable(contentText) >= 0) || (content.Parts is { } parts && HasUnstorableText(parts));
            case JsonElement element:
                return HasUnstorableText(element);
            case IDictionary<string, string> map:
                foreach (var (key, item) in map)
                {
                    if (FindUnstorable(key) >= 0 || (item is not null && FindUnstorable(item) >= 0))
                    {
                        return true;
                    }
                }

                return false;
            case WireObject wire:
                foreach (var property in WireJson.Options.GetTypeInfo(wire.GetType()).Properties)
                {
                    if (!property.IsExtensionData && property.Get is { } get && HasUnstorableText(get(wire)))
                    {
                        return true;
                    }
                }

                foreach (var (name, element) in wire.AdditionalProperties ?? EmptyExtras)
                {
                    if (FindUnstorable(name) >= 0 || HasUnstorableText(element))
                    {
                        return true;
                    }
                }

                return false;
            case IEnumerable items and not IEnumerable<int>:
                foreach (var item in items)
                {
                    if (HasUnstorableText(item))
                    {
                        return true;
                    }
                }

                return false;
            default:
                return false;
        }
    }

    private static bool HasUnstorableText(JsonElement element)
    {
        if (element.ValueKind == JsonValueKind.Undefined)
        {
            return false;
        }

        var raw = JsonMarshal.GetRawUtf8Value(element);
        return raw.IndexOf("\\u"u8) >= 0 || !Utf8.IsValid(raw);
    }

    // Walks a wire object through the serializer's own contract, so every member the writer would emit is seen.
    private static void Strings(object? value, string path)
    {
        switch (value)
        {
            case null:
                return;
            case string text:
                Text(text, path);
                return;
            case ChatMessageContent content:
                Text(content.Text, path);
                if (content.Parts is { } parts)
                {
                    Json(parts, path);
                }

                return;
            case JsonElement element:
                Json(element, path);
                return;
            case IDictionary<string, string> map:
                foreach (var (key, item) in map)
                {
                    Text(key, Member(path, key));
                    Text(item, Member(path, key));
                }

                return;
            case WireObject wire:
                foreach (var property in WireJson.Options.GetTypeInfo(wire.GetType()).Properties)
                {
                    if (!property.IsExtensionData && property.Get is { } get)
                    {
                        Strings(get(wire), Member(path, property.Name));
                    }
                }

                foreach (var (name, element) in wire.AdditionalProperties ?? EmptyExtras)
                {
                    Text(name, Member(path, name));
                    Json(element, Member(path, name));
                }

                return;
            case IEnumerable items and not IEnumerable<int>:
                var index = 0;
                foreach (var item in items)
                {
                    Strings(item, $"{path}[{index++}]");
                }

                return;
        }
    }

    private static void Json(JsonElement element, string path)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var member in element.EnumerateObject())
                {
                    var name = MemberName(member, path);
                    Text(name, Member(path, name));
                    Json(member.Value, Member(path, name));
                }

                break;
            case JsonValueKind.Array:
                var index = 0;
                foreach (var item in element.EnumerateArray())
                {
                    Json(item, $"{path}[{index++}]");
                }

                break;
            case JsonValueKind.String:
                string? text;
                try
                {
                    text = element.GetString();
                }
                catch (InvalidOperationException e)
                {
                    throw Invalid(path, ChatCompletionValidationRule.LoneSurrogate, "is not valid UTF-16 text (a lone surrogate)", e);
                }

                Text(text, path);
                break;
        }
    }

    private static void Text(string? value, string path)
    {
        if (value is null || FindUnstorable(value) is not (>= 0 and var i))
        {
            return;
        }

        throw value[i] == '\0'
            ? Invalid(path, ChatCompletionValidationRule.NulCharacter, $"holds U+0000 at character {i}, which PostgreSQL cannot store")
            : Invalid(path, ChatCompletionValidationRule.LoneSurrogate, $"holds a lone surrogate U+{(int)value[i]:X4} at character {i}");
    }

    // The position of the first NUL or lone surrogate, or -1: two vectorized scans, then a walk from the first surrogate.
    private static int FindUnstorable(string value)
    {
        var span = value.AsSpan();
        var nul = span.IndexOf('\0');
        var surrogate = span.IndexOfAnyInRange('\uD800', '\uDFFF');
        if (surrogate < 0)
        {
            return nul;
        }

        var end = nul < 0 ? span.Length : nul;
        for (var i = surrogate; i < end; i++)
        {
            if (char.IsHighSurrogate(span[i]) && i + 1 < span.Length && char.IsLowSurrogate(span[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(span[i]))
            {
                return i;
            }
        }

        return nul;
    }

    // A name escaping a lone surrogate cannot be read as a string; decoded leniently, the error can still name it.
    private static string MemberName(JsonProperty member, string path)
    {
        try
        {
            return member.Name;
        }
        catch (InvalidOperationException e)
        {
            var name = Unescape(JsonMarshal.GetRawUtf8PropertyName(member));
            throw Invalid(Member(path, name), ChatCompletionValidationRule.LoneSurrogate, "has a member name that is not valid UTF-16 text (a lone surrogate)", e);
        }
    }

    private static string Unescape(ReadOnlySpan<byte> raw)
    {
        var name = new StringBuilder(raw.Length);
        while (!raw.IsEmpty)
        {
            var escape = raw.IndexOf((byte)'\\');
            name.Append(Encoding.UTF8.GetString(escape < 0 ? raw : raw[..escape]));
            if (escape < 0)
            {
                break;
            }

            if (raw[escape + 1] == (byte)'u')
            {
                name.Append((char)int.Parse(raw.Slice(escape + 2, 4), NumberStyles.HexNumber, CultureInfo.InvariantCulture));
                raw = raw[(escape + 6)..];
            }
            else
            {
                name.Append(raw[escape + 1] switch { (byte)'b' => '\b', (byte)'f' => '\f', (byte)'n' => '\n', (byte)'r' => '\r', (byte)'t' => '\t', var c => (char)c });
                raw = raw[(escape + 2)..];
            }
        }

        return name.ToString();
    }
}

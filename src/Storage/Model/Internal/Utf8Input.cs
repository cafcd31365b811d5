using System.Text;
using System.Text.Unicode;

namespace Storage.Internal;

/// <summary>
/// Refuses input bytes that are not valid UTF-8, naming where the first bad byte is, instead of letting a decoder
/// replace them with U+FFFD: System.Text.Json transcodes strings it keeps as <see cref="System.Text.Json.JsonElement"/>
/// (extensions) and member names leniently, so a stored completion would differ from what was sent.
/// </summary>
internal static class Utf8Input
{
    /// <summary>A UTF-8 decoder that throws on invalid bytes rather than replacing them.</summary>
    public static readonly UTF8Encoding Strict = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>
    /// The input without a leading UTF-8 byte order mark, which RFC 8259 allows a parser to ignore and System.Text.Json's
    /// stream overloads already skip.
    /// </summary>
    public static ReadOnlySpan<byte> WithoutBom(ReadOnlySpan<byte> utf8) =>
        utf8.StartsWith(Encoding.UTF8.Preamble) ? utf8[Encoding.UTF8.Preamble.Length..] : utf8;

    /// <exception cref="ChatCompletionValidationException">The bytes are not valid UTF-8.</exception>
    public static void ThrowIfInvalid(ReadOnlySpan<byte> utf8)
    {
        if (Utf8.IsValid(utf8))
        {
            return;
        }

        try
        {
            Strict.GetCharCount(utf8);
        }
        catch (DecoderFallbackException e)
        {
            var offset = Math.Max(0, e.Index);
            var before = utf8[..offset];
            var line = before.Count((byte)'\n');
            var lineStart = before.LastIndexOf((byte)'\n') + 1;
            throw Invalid(utf8[offset], line > 0 || utf8[offset..].Contains((byte)'\n') ? line + 1 : 0, offset - lineStart + 1, e);
        }
    }

    /// <summary>The error for an invalid byte at a 1-based byte position of a 1-based line (0 when the input has one line).</summary>
    public static ChatCompletionValidationException Invalid(byte value, long line, long bytePosition, Exception? innerException)
    {
        var where = line > 0 ? $"line {line}, byte {bytePosition}" : $"byte {bytePosition}";
        return new ChatCompletionValidationException(
            "$", ChatCompletionValidationRule.MalformedJson, $"is not valid UTF-8: 0x{value:X2} at {where}", innerException);
    }
}

namespace Storage.Internal;

/// <summary>
/// Whether a JSON number fits PostgreSQL's <c>numeric</c>, which jsonb stores numbers in: at most 131072 digits before
/// the decimal point and 16383 after, as written (<c>0.0e-99999</c> fails too), and an exponent under 2^30.
/// A number past these limits fails the whole INSERT with "value overflows numeric format".
/// </summary>
internal static class JsonbNumber
{
    private const long MaxExponent = (int.MaxValue / 2) - 1;
    private const long MaxScale = 16383;
    private const long MaxLeadingExponent = 131071;

    /// <summary>Checks the raw text of a number token (already valid JSON).</summary>
    public static bool IsStorable(ReadOnlySpan<byte> raw)
    {
        var body = raw[0] == (byte)'-' ? raw[1..] : raw;
        var exponentAt = body.IndexOfAny((byte)'e', (byte)'E');
        long exponent = 0;
        if (exponentAt >= 0)
        {
            var text = body[(exponentAt + 1)..];
            var negative = text[0] == (byte)'-';
            var digits = (text[0] is (byte)'-' or (byte)'+' ? text[1..] : text).TrimStart((byte)'0');
            if (digits.Length > 10)
            {
                return false;
            }

            foreach (var digit in digits)
            {
                exponent = (exponent * 10) + (digit - '0');
            }

            if (exponent > MaxExponent)
            {
                return false;
            }

            exponent = negative ? -exponent : exponent;
        }

        var mantissa = exponentAt < 0 ? body : body[..exponentAt];
        var dot = mantissa.IndexOf((byte)'.');
        var whole = dot < 0 ? mantissa : mantissa[..dot];
        var fraction = dot < 0 ? [] : mantissa[(dot + 1)..];
        if (fraction.Length - exponent > MaxScale)
        {
            return false;
        }

        // The power of ten of the first significant digit; zero has none and fits whatever its exponent.
        var first = whole.IndexOfAnyExcept((byte)'0');
        if (first >= 0)
        {
            return whole.Length - 1 - first + exponent <= MaxLeadingExponent;
        }

        first = fraction.IndexOfAnyExcept((byte)'0');
        return first < 0 || -1 - first + exponent <= MaxLeadingExponent;
    }
}

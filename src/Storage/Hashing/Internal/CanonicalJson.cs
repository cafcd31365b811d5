using System.Buffers;
using System.Globalization;
using System.Numerics;
using System.Text;
using System.Text.Json;

namespace Storage.Internal;

/// <summary>
/// The canonical JSON of a completion, made in one reader pass over its serialized UTF-8 with reused buffers:
/// a flat token table, then a rewrite that sorts object members and respells numbers. One instance per thread
/// is kept between calls (<see cref="Rent"/>); it is not thread-safe.
/// </summary>
internal sealed class CanonicalJson : IDisposable, IComparer<int>
{
    // A thread keeps its buffers for the next completion unless one outsized completion grew them.
    private const int KeepBytes = 1 << 20;
    private const int KeepTokens = 1 << 16;

    private static readonly JsonWriterOptions SerializeOptions = new()
    {
        // As the serializer's own writer would be set up: same escaping, same depth limit.
        Encoder = WireJson.Options.Encoder,
        MaxDepth = WireJson.Options.MaxDepth == 0 ? 64 : WireJson.Options.MaxDepth,
        SkipValidation = true,
    };

    private static readonly JsonReaderOptions ReadOptions = new() { MaxDepth = SerializeOptions.MaxDepth };

    [ThreadStatic]
    private static CanonicalJson? t_cached;

    private readonly ArrayBufferWriter<byte> _json = new(4096);
    private readonly ArrayBufferWriter<byte> _canonical = new(4096);
    private readonly Utf8JsonWriter _serializer;
    private readonly Utf8JsonWriter _writer;
    private ReadOnlyMemory<byte> _source;
    private Token[] _tokens = new Token[256];
    private int _tokenCount;
    private byte[] _unescaped = new byte[1024];
    private int _unescapedLength;
    private int[] _open = new int[16];
    private int[] _members = new int[64];
    private int _memberCount;
    private bool _duplicateMember;
    private bool _unstorableNumber;
    private ReadOnlyMemory<byte> _leftOut;

    private CanonicalJson()
    {
        _serializer = new Utf8JsonWriter(_json, SerializeOptions);
        // The canonical form is defined by the default writer: default encoder, no indentation.
        _writer = new Utf8JsonWriter(_canonical);
    }

    /// <summary>This thread's instance, or a new one when it is in use (or was dropped); dispose to give it back.</summary>
    public static CanonicalJson Rent()
    {
        var scratch = t_cached ?? new CanonicalJson();
        t_cached = null;
        return scratch;
    }

    /// <summary>Serializes the completion in the wire format into this instance's buffer.</summary>
    public void Serialize(ChatCompletion completion)
    {
        _json.ResetWrittenCount();
        _serializer.Reset(_json);
        JsonSerializer.Serialize(_serializer, completion, WireJson.Options);
        _serializer.Flush();
    }

    /// <summary>
    /// Whether the last <see cref="Canonicalize"/> met what jsonb cannot keep as it is: an object with a member name twice
    /// (jsonb keeps one), or a number past the range of PostgreSQL's <c>numeric</c> (see <see cref="JsonbNumber"/>).
    /// </summary>
    public bool HasUnstorableJson => _duplicateMember || _unstorableNumber;

    /// <summary>
    /// The canonical form of what <see cref="Serialize"/> wrote, without the top-level member named
    /// <paramref name="leftOut"/> (UTF-8) when there is one; valid until the next call on this instance.
    /// </summary>
    public ReadOnlySpan<byte> Canonicalize(ReadOnlyMemory<byte> leftOut = default)
    {
        _leftOut = leftOut;
        _duplicateMember = false;
        _unstorableNumber = false;
        _source = _json.WrittenMemory;
        Tokenize(_source.Span);
        _canonical.ResetWrittenCount();
        _writer.Reset(_canonical);
        _memberCount = 0;
        WriteValue(0);
        _writer.Flush();
        return _canonical.WrittenSpan;
    }

    public void Dispose()
    {
        _source = default;
        if (_json.Capacity <= KeepBytes && _canonical.Capacity <= KeepBytes && _unescaped.Length <= KeepBytes && _tokens.Length <= KeepTokens)
        {
            t_cached = this;
        }
        else
        {
            _serializer.Dispose();
            _writer.Dispose();
        }
    }

    /// <summary>Orders member-name tokens by their names' UTF-16 ordinal, then by position: a stable sort.</summary>
    public int Compare(int x, int y)
    {
        var byName = CompareUtf16Ordinal(Text(x), Text(y));
        // A sort compares every pair that ends up adjacent, so equal names cannot go unseen.
        _duplicateMember |= byName == 0 && x != y;
        return byName != 0 ? byName : x.CompareTo(y);
    }

    // Code points in UTF-8 order are in UTF-16 order except U+E000..U+FFFF, which UTF-16 puts after the
    // supplementary planes (their surrogates are D800..DFFF).
    private static int CompareUtf16Ordinal(ReadOnlySpan<byte> x, ReadOnlySpan<byte> y)
    {
        var common = x.CommonPrefixLength(y);
        if (common == x.Length || common == y.Length)
        {
            return x.Length.CompareTo(y.Length);
        }

        if (x[common] < 0x80 && y[common] < 0x80)
        {
            return x[common].CompareTo(y[common]);
        }

        var start = common;
        while (start > 0 && (x[start] & 0xC0) == 0x80)
        {
            start--;
        }

        Rune.DecodeFromUtf8(x[start..], out var a, out _);
        Rune.DecodeFromUtf8(y[start..], out var b, out _);
        return Utf16Rank(a).CompareTo(Utf16Rank(b));
    }

    private static int Utf16Rank(Rune rune) => rune.Value is >= 0xE000 and <= 0xFFFF ? rune.Value + 0x110000 : rune.Value;

    // [-]d.ddd e[-]x with no redundant zeros, exactly: the same value spelled 1.50, 15e-1 or 1.5E+0 gives the same text.
    private static bool TryWriteNumber(ReadOnlySpan<byte> raw, Span<byte> destination, out int written)
    {
        written = 0;
        var negative = raw[0] == (byte)'-';
        var body = negative ? raw[1..] : raw;
        var exponentAt = body.IndexOfAny((byte)'e', (byte)'E');
        long exponent = 0;
        if (exponentAt >= 0 && !TryParseExponent(body[(exponentAt + 1)..], out exponent))
        {
            return false;
        }

        var mantissa = exponentAt < 0 ? body : body[..exponentAt];
        var dot = mantissa.IndexOf((byte)'.');
        var whole = dot < 0 ? mantissa : mantissa[..dot];
        var fraction = dot < 0 ? [] : mantissa[(dot + 1)..];
        var total = whole.Length + fraction.Length;
        exponent -= fraction.Length;

        var first = 0;
        while (first < total && Digit(whole, fraction, first) == (byte)'0')
        {
            first++;
        }

        if (first == total)
        {
            destination[0] = (byte)'0';
            written = 1;
            return true;
        }

        var last = total - 1;
        while (Digit(whole, fraction, last) == (byte)'0')
        {
            last--;
        }

        // Value = digits[first..last] × 10^(exponent + trailing zeros); normalise to one digit before the point.
        exponent += total - 1 - last + (last - first);
        if (negative)
        {
            destination[written++] = (byte)'-';
        }

        destination[written++] = Digit(whole, fraction, first);
        if (last > first)
        {
            destination[written++] = (byte)'.';
            for (var k = first + 1; k <= last; k++)
            {
                destination[written++] = Digit(whole, fraction, k);
            }
        }

        destination[written++] = (byte)'e';
        exponent.TryFormat(destination[written..], out var exponentLength, default, CultureInfo.InvariantCulture);
        written += exponentLength;
        return true;
    }

    private static byte Digit(ReadOnlySpan<byte> whole, ReadOnlySpan<byte> fraction, int k) => k < whole.Length ? whole[k] : fraction[k - whole.Length];

    // Exponents of up to 15 digits add to digit counts without overflow; longer ones take the exact slow path.
    private static bool TryParseExponent(ReadOnlySpan<byte> text, out long exponent)
    {
        exponent = 0;
        var negative = text[0] == (byte)'-';
        var digits = text[0] is (byte)'-' or (byte)'+' ? text[1..] : text;
        if (digits.Length > 15)
        {
            return false;
        }

        foreach (var digit in digits)
        {
            exponent = (exponent * 10) + (digit - '0');
        }

        exponent = negative ? -exponent : exponent;
        return true;
    }

    private static string BigCanonicalNumber(string raw)
    {
        var negative = raw.StartsWith('-');
        var body = negative ? raw[1..] : raw;
        var exponentAt = body.IndexOfAny(['e', 'E']);
        var exponent = BigInteger.Parse(body[(exponentAt + 1)..], CultureInfo.InvariantCulture);
        var mantissa = body[..exponentAt];
        var dot = mantissa.IndexOf('.', StringComparison.Ordinal);
        var digits = dot < 0 ? mantissa : string.Concat(mantissa.AsSpan(0, dot), mantissa.AsSpan(dot + 1));
        exponent -= dot < 0 ? 0 : mantissa.Length - dot - 1;

        var trimmedStart = digits.TrimStart('0');
        if (trimmedStart.Length == 0)
        {
            return "0";
        }

        var significant = trimmedStart.TrimEnd('0');
        exponent += trimmedStart.Length - significant.Length + significant.Length - 1;
        var fraction = significant.Length > 1 ? "." + significant[1..] : string.Empty;
        return string.Create(CultureInfo.InvariantCulture, $"{(negative ? "-" : string.Empty)}{significant[0]}{fraction}e{exponent}");
    }

    private void Tokenize(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json, ReadOptions);
        _tokenCount = 0;
        _unescapedLength = 0;
        var depth = 0;
        while (reader.Read())
        {
            if (_tokenCount == _tokens.Length)
            {
                Array.Resize(ref _tokens, _tokens.Length * 2);
            }

            var token = new Token { Type = reader.TokenType };
            switch (reader.TokenType)
            {
                case JsonTokenType.StartObject or JsonTokenType.StartArray:
                    if (depth == _open.Length)
                    {
                        Array.Resize(ref _open, _open.Length * 2);
                    }

                    _open[depth++] = _tokenCount;
                    break;
                case JsonTokenType.EndObject or JsonTokenType.EndArray:
                    _tokens[_open[--depth]].End = _tokenCount + 1;
                    break;
                case JsonTokenType.PropertyName or JsonTokenType.String when reader.ValueIsEscaped:
                    if (_unescapedLength + reader.ValueSpan.Length > _unescaped.Length)
                    {
                        Array.Resize(ref _unescaped, Math.Max(_unescaped.Length * 2, _unescapedLength + reader.ValueSpan.Length));
                    }

                    token.Unescaped = true;
                    token.Start = _unescapedLength;
                    token.Length = reader.CopyString(_unescaped.AsSpan(_unescapedLength));
                    _unescapedLength += token.Length;
                    break;
                case JsonTokenType.PropertyName or JsonTokenType.String:
                    token.Start = (int)reader.TokenStartIndex + 1;
                    token.Length = reader.ValueSpan.Length;
                    break;
                case JsonTokenType.Number:
                    token.Start = (int)reader.TokenStartIndex;
                    token.Length = reader.ValueSpan.Length;
                    break;
            }

            _tokens[_tokenCount++] = token;
        }
    }

    private int WriteValue(int at)
    {
        var token = _tokens[at];
        switch (token.Type)
        {
            case JsonTokenType.StartObject:
                _writer.WriteStartObject();
                var first = _memberCount;
                for (var member = at + 1; _tokens[member].Type != JsonTokenType.EndObject; member = Next(member + 1))
                {
                    if (at == 0 && Text(member).SequenceEqual(_leftOut.Span))
                    {
                        continue;
                    }

                    if (_memberCount == _members.Length)
                    {
                        Array.Resize(ref _members, _members.Length * 2);
                    }

                    _members[_memberCount++] = member;
                }

                var count = _memberCount - first;
                _members.AsSpan(first, count).Sort(this);
                for (var k = first; k < first + count; k++)
                {
                    // Read through the field: writing a nested object may have grown the array.
                    var name = _members[k];
                    _writer.WritePropertyName(Text(name));
                    WriteValue(name + 1);
                }

                _memberCount = first;
                _writer.WriteEndObject();
                return token.End;
            case JsonTokenType.StartArray:
                _writer.WriteStartArray();
                var item = at + 1;
                while (_tokens[item].Type != JsonTokenType.EndArray)
                {
                    item = WriteValue(item);
                }

                _writer.WriteEndArray();
                return item + 1;
            case JsonTokenType.String:
                _writer.WriteStringValue(Text(at));
                return at + 1;
            case JsonTokenType.Number:
                WriteNumber(Text(at));
                return at + 1;
            case JsonTokenType.True or JsonTokenType.False:
                _writer.WriteBooleanValue(token.Type == JsonTokenType.True);
                return at + 1;
            default:
                _writer.WriteNullValue();
                return at + 1;
        }
    }

    private void WriteNumber(ReadOnlySpan<byte> raw)
    {
        _unstorableNumber |= !JsonbNumber.IsStorable(raw);
        var buffer = raw.Length <= 200 ? stackalloc byte[256] : new byte[raw.Length + 24];
        if (TryWriteNumber(raw, buffer, out var written))
        {
            _writer.WriteRawValue(buffer[..written], skipInputValidation: true);
        }
        else
        {
            _writer.WriteRawValue(BigCanonicalNumber(Encoding.UTF8.GetString(raw)), skipInputValidation: true);
        }
    }

    private int Next(int at) => _tokens[at].Type is JsonTokenType.StartObject or JsonTokenType.StartArray ? _tokens[at].End : at + 1;

    private ReadOnlySpan<byte> Text(int at)
    {
        var token = _tokens[at];
        return token.Unescaped ? _unescaped.AsSpan(token.Start, token.Length) : _source.Span.Slice(token.Start, token.Length);
    }

    private struct Token
    {
        public JsonTokenType Type;
        public bool Unescaped;
        public int Start;
        public int Length;
        public int End;
    }
}

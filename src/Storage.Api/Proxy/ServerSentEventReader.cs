using System.Text;

namespace Storage.Api.Proxy;

/// <summary>
/// Splits a server-sent event stream, fed in arbitrary pieces as they arrive, into whole events: each with its exact
/// bytes (so it can be relayed unchanged) and its <c>data</c> (several <c>data:</c> lines of one event joined by a
/// newline, as the SSE specification says). A line that is not valid UTF-8 is decoded strictly, never with replacement
/// characters: its event carries <see cref="ServerSentEvent.InvalidUtf8"/> and no data, and is still relayed as it came.
/// </summary>
internal sealed class ServerSentEventReader
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private readonly List<byte> _raw = [];
    private readonly List<byte> _line = [];
    private readonly StringBuilder _data = new();
    private bool _hasData;
    private long _lineNumber;
    private string? _invalidUtf8;

    /// <summary>The bytes fed since the last whole event: an event the stream has not finished.</summary>
    public ReadOnlySpan<byte> Pending => System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_raw);

    /// <summary>Feeds the next bytes of the stream; returns every event they complete.</summary>
    public IReadOnlyList<ServerSentEvent> Feed(ReadOnlySpan<byte> bytes)
    {
        var events = new List<ServerSentEvent>();
        foreach (var b in bytes)
        {
            _raw.Add(b);
            if (b != (byte)'\n')
            {
                _line.Add(b);
                continue;
            }

            _lineNumber++;
            string line;
            try
            {
                line = StrictUtf8.GetString(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_line)).TrimEnd('\r');
            }
            catch (DecoderFallbackException e)
            {
                var at = Math.Max(0, e.Index);
                _invalidUtf8 ??= $"0x{_line[at]:X2} at line {_lineNumber}, byte {at + 1} of the event stream";
                _line.Clear();
                continue;
            }

            _line.Clear();
            if (line.Length == 0)
            {
                events.Add(new ServerSentEvent([.. _raw], _hasData && _invalidUtf8 is null ? _data.ToString() : null, _invalidUtf8));
                _raw.Clear();
                _data.Clear();
                _hasData = false;
                _invalidUtf8 = null;
            }
            else if (line.StartsWith("data:", StringComparison.Ordinal))
            {
                var value = line.AsSpan(5);
                if (_hasData)
                {
                    _data.Append('\n');
                }

                _data.Append(value.StartsWith(" ") ? value[1..] : value);
                _hasData = true;
            }

            // Comments (":"), "event:", "id:" and "retry:" lines carry nothing a completion needs.
        }

        return events;
    }
}

/// <summary>
/// One whole event: its bytes as they came, blank line included, and its data (null when it had none, or when a line of it
/// was not valid UTF-8: then <paramref name="InvalidUtf8"/> says where, as <c>0xFF at line 7, byte 12 of the event stream</c>).
/// </summary>
internal sealed record ServerSentEvent(byte[] Raw, string? Data, string? InvalidUtf8 = null);

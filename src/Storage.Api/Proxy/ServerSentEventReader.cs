using System.Text;

namespace Storage.Api.Proxy;

/// <summary>
/// Splits a server-sent event stream, fed in arbitrary pieces as they arrive, into whole events: each with its exact
/// bytes (so it can be relayed unchanged) and its <c>data</c> (several <c>data:</c> lines of one event joined by a
/// newline, as the SSE specification says).
/// </summary>
internal sealed class ServerSentEventReader
{
    private readonly List<byte> _raw = [];
    private readonly List<byte> _line = [];
    private readonly StringBuilder _data = new();
    private bool _hasData;

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

            var line = Encoding.UTF8.GetString([.. _line]).TrimEnd('\r');
            _line.Clear();
            if (line.Length == 0)
            {
                events.Add(new ServerSentEvent([.. _raw], _hasData ? _data.ToString() : null));
                _raw.Clear();
                _data.Clear();
                _hasData = false;
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

/// <summary>One whole event: its bytes as they came, blank line included, and its data (null when it had none).</summary>
internal sealed record ServerSentEvent(byte[] Raw, string? Data);

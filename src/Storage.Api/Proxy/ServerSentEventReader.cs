using System.Text;

namespace Storage.Api.Proxy;

/// <summary>
/// Splits a server-sent event stream, fed in arbitrary pieces as they arrive, into the <c>data</c> of its events
/// (several <c>data:</c> lines of one event joined by a newline, as the SSE specification says).
/// </summary>
internal sealed class ServerSentEventReader
{
    private readonly List<byte> _line = [];
    private readonly StringBuilder _data = new();
    private bool _hasData;

    /// <summary>Feeds the next bytes of the stream; returns the data of every event they complete.</summary>
    public IEnumerable<string> Feed(ReadOnlySpan<byte> bytes)
    {
        var events = new List<string>();
        foreach (var b in bytes)
        {
            if (b != (byte)'\n')
            {
                _line.Add(b);
                continue;
            }

            var line = Encoding.UTF8.GetString([.. _line]).TrimEnd('\r');
            _line.Clear();
            if (line.Length == 0)
            {
                if (_hasData)
                {
                    events.Add(_data.ToString());
                }

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

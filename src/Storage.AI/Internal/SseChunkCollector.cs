using System.Text;

namespace Storage.AI.Internal;

/// <summary>
/// Reads server-sent events from the bytes of a response as they pass and adds the <c>data:</c> payload of each event
/// (but <c>[DONE]</c>) to a chunk assembler. A payload that is not a chunk ends the collection: the recorder then falls
/// back to the SDK's own objects.
/// </summary>
internal sealed class SseChunkCollector
{
    private readonly List<byte> _line = [];
    private readonly StringBuilder _data = new();

    public ChatCompletionChunkAssembler Assembler { get; } = new();

    public bool Failed { get; private set; }

    public void Write(ReadOnlySpan<byte> bytes)
    {
        foreach (var b in bytes)
        {
            if (b == (byte)'\n')
            {
                EndLine();
            }
            else
            {
                _line.Add(b);
            }
        }
    }

    private void EndLine()
    {
        var span = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_line);
        if (span.Length > 0 && span[^1] == (byte)'\r')
        {
            span = span[..^1];
        }

        if (span.IsEmpty)
        {
            Dispatch();
        }
        else if (span.StartsWith("data:"u8))
        {
            var value = span[5..];
            if (!value.IsEmpty && value[0] == (byte)' ')
            {
                value = value[1..];
            }

            if (_data.Length > 0)
            {
                _data.Append('\n');
            }

            _data.Append(Encoding.UTF8.GetString(value));
        }

        _line.Clear();
    }

    private void Dispatch()
    {
        var data = _data.ToString();
        _data.Clear();
        if (data.Length == 0 || data == "[DONE]" || Failed)
        {
            return;
        }

        try
        {
            Assembler.Add(data);
        }
        catch (ChatCompletionValidationException)
        {
            Failed = true;
        }
    }
}

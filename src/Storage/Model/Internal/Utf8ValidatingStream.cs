using System.Text;

namespace Storage.Internal;

/// <summary>
/// A read-only view of a stream that passes its bytes through unchanged while a strict UTF-8 decoder checks them, and
/// throws a <see cref="ChatCompletionValidationException"/> naming the line and byte of the first invalid one (or of a
/// sequence the stream ends inside). The decoder keeps its state between reads, so a character split across two reads is
/// decoded whole.
/// </summary>
internal sealed class Utf8ValidatingStream(Stream inner) : Stream
{
    private readonly Decoder _decoder = Utf8Input.Strict.GetDecoder();
    private readonly char[] _scratch = new char[4096];
    private long _checked;
    private long _line = 1;
    private long _lineStart;
    private bool _ended;

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var read = inner.Read(buffer);
        Check(buffer[..read], end: read == 0 && !buffer.IsEmpty);
        return read;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var read = await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        Check(buffer.Span[..read], end: read == 0 && !buffer.IsEmpty);
        return read;
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    // At the end of the stream a sequence left unfinished is an error too.
    private void Check(ReadOnlySpan<byte> bytes, bool end)
    {
        if (_ended)
        {
            return;
        }

        _ended = end;
        var rest = bytes;
        try
        {
            do
            {
                _decoder.Convert(rest, _scratch, flush: end, out var used, out _, out var completed);
                rest = rest[used..];
                _checked += used;
                if (rest.IsEmpty && (completed || !end))
                {
                    break;
                }
            }
            while (true);
        }
        catch (DecoderFallbackException e)
        {
            // Index counts from the bytes of this call, negative for a sequence that began in an earlier read (which
            // holds no line feed: every byte of a sequence is 0x80 or above).
            var chunkStart = _checked - (bytes.Length - rest.Length);
            var offset = _checked + e.Index;
            var seen = bytes[..(int)Math.Max(0, offset - chunkStart)];
            var (line, lineStart) = seen.Contains((byte)'\n')
                ? (_line + seen.Count((byte)'\n'), chunkStart + seen.LastIndexOf((byte)'\n') + 1)
                : (_line, _lineStart);
            var value = e.BytesUnknown is { Length: > 0 } unknown ? unknown[0] : bytes[(int)(offset - chunkStart)];
            throw Utf8Input.Invalid(value, line, offset - lineStart + 1, e);
        }

        var lineFeeds = bytes.Count((byte)'\n');
        if (lineFeeds > 0)
        {
            _line += lineFeeds;
            _lineStart = _checked - bytes.Length + bytes.LastIndexOf((byte)'\n') + 1;
        }
    }
}

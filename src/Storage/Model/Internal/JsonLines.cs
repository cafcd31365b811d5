using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using System.Text;

namespace Storage.Internal;

/// <summary>
/// Splits JSON Lines (a file, stdin, an HTTP body) into lines as bytes, not text: each line goes to <see cref="ChatCompletionJson.Parse(ReadOnlySpan{byte})"/>,
/// which refuses invalid UTF-8 by position. A decoding text reader would turn such bytes into U+FFFD before anyone could
/// see them, or, made strict, fail a whole buffer of lines at once and leave the rest unreadable. A line feed byte never
/// occurs inside a UTF-8 sequence, so splitting bytes on it is safe.
/// </summary>
internal static class JsonLines
{
    /// <summary>One line with its number (from 1), valid until the next one is read.</summary>
    public readonly record struct Line(long Number, ReadOnlySequence<byte> Bytes);

    /// <summary>The lines that are not blank (spaces, tabs and a carriage return only), a UTF-8 byte order mark before the first skipped.</summary>
    public static async IAsyncEnumerable<Line> ReadAsync(PipeReader reader, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        long number = 0;
        while (true)
        {
            var read = await reader.ReadAsync(cancellationToken);
            var buffer = read.Buffer;
            while (TryTakeLine(ref buffer, read.IsCompleted, out var line))
            {
                number++;
                if (number == 1 && line.Length >= 3 && StartsWithBom(line))
                {
                    line = line.Slice(3);
                }

                if (!IsBlank(line))
                {
                    yield return new Line(number, line);
                }
            }

            reader.AdvanceTo(buffer.Start, buffer.End);
            if (read.IsCompleted)
            {
                break;
            }
        }
    }

    /// <summary>Parses one line's bytes.</summary>
    public static ChatCompletion Parse(ReadOnlySequence<byte> line) =>
        ChatCompletionJson.Parse(line.IsSingleSegment ? line.FirstSpan : line.ToArray());

    private static bool TryTakeLine(ref ReadOnlySequence<byte> buffer, bool completed, out ReadOnlySequence<byte> line)
    {
        if (buffer.PositionOf((byte)'\n') is { } end)
        {
            line = buffer.Slice(0, end);
            buffer = buffer.Slice(buffer.GetPosition(1, end));
            return true;
        }

        // The last line may have no line feed.
        if (completed && !buffer.IsEmpty)
        {
            line = buffer;
            buffer = buffer.Slice(buffer.End);
            return true;
        }

        line = default;
        return false;
    }

    private static bool StartsWithBom(ReadOnlySequence<byte> line)
    {
        Span<byte> start = stackalloc byte[3];
        line.Slice(0, 3).CopyTo(start);
        return start.SequenceEqual(Encoding.UTF8.Preamble);
    }

    private static bool IsBlank(ReadOnlySequence<byte> line)
    {
        foreach (var segment in line)
        {
            if (segment.Span.IndexOfAnyExcept(" \t\r"u8) >= 0)
            {
                return false;
            }
        }

        return true;
    }
}

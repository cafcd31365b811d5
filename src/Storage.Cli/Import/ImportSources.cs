using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text.Json;
using Storage.Internal;

namespace Storage.Cli.Import;

/// <summary>
/// Reads completions from the inputs of <c>import</c>: <c>.json</c> files (one completion or an array), JSON Lines files
/// and standard input. Each yields its items one at a time, so memory stays flat however long the input; a bad item is
/// yielded with its error rather than thrown, so the rest are still read.
/// </summary>
internal static class ImportSources
{
    public const string StandardInput = "-";
    private const string StandardInputName = "<stdin>";

    /// <summary>Checks every path before anything is read, so a typo stops the import before half of it is stored.</summary>
    public static void Validate(IEnumerable<string> paths)
    {
        foreach (var path in paths)
        {
            if (path == StandardInput)
            {
                continue;
            }

            if (!IsJsonLines(path) && !Path.GetExtension(path).Equals(".json", StringComparison.OrdinalIgnoreCase))
            {
                throw new CliException($"{path}: expected a .json or .jsonl file, or - for JSON Lines on standard input.");
            }

            if (!File.Exists(path))
            {
                throw new CliException($"{path}: no such file.");
            }
        }
    }

    public static async IAsyncEnumerable<ImportItem> ReadAsync(
        IEnumerable<string> paths, Stream standardInput, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        foreach (var path in paths)
        {
            if (path == StandardInput)
            {
                await foreach (var item in ReadLinesAsync(StandardInputName, standardInput, cancellationToken))
                {
                    yield return item;
                }

                continue;
            }

            var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 64 * 1024, FileOptions.Asynchronous | FileOptions.SequentialScan);
            await using (file)
            {
                if (IsJsonLines(path))
                {
                    await foreach (var item in ReadLinesAsync(path, file, cancellationToken))
                    {
                        yield return item;
                    }
                }
                else
                {
                    await foreach (var item in ReadDocumentAsync(path, file, cancellationToken))
                    {
                        yield return item;
                    }
                }
            }
        }
    }

    /// <summary>
    /// Reads JSON Lines: one completion a line, blank lines ignored. A line that is not valid UTF-8 is reported with the
    /// byte where it goes wrong, and the rest are still read.
    /// </summary>
    public static async IAsyncEnumerable<ImportItem> ReadLinesAsync(
        string source, Stream stream, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var reader = PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: 64 * 1024, leaveOpen: true));
        try
        {
            await foreach (var line in JsonLines.ReadAsync(reader, cancellationToken))
            {
                var location = new SourceLocation(source, line.Number, SourceLocation.Kind.Line);
                ImportItem item;
                try
                {
                    item = new ImportItem(location, JsonLines.Parse(line.Bytes), null);
                }
                catch (ChatCompletionValidationException e)
                {
                    item = new ImportItem(location, null, e);
                }

                yield return item;
            }
        }
        finally
        {
            await reader.CompleteAsync();
        }
    }

    /// <summary>Reads one JSON document from a seekable stream: a completion, or an array of them read element by element.</summary>
    public static async IAsyncEnumerable<ImportItem> ReadDocumentAsync(
        string source, Stream stream, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (!await StartsWithArrayAsync(stream, cancellationToken))
        {
            ImportItem item;
            var location = new SourceLocation(source, 0, SourceLocation.Kind.Document);
            try
            {
                item = new ImportItem(location, await ChatCompletionJson.ParseAsync(stream, cancellationToken), null);
            }
            catch (ChatCompletionValidationException e)
            {
                item = new ImportItem(location, null, e);
            }

            yield return item;
            yield break;
        }

        // Elements are split as plain JSON first, so one that is not a valid completion is reported and the rest still read.
        var elements = JsonSerializer.DeserializeAsyncEnumerable<JsonElement>(stream, cancellationToken: cancellationToken)
            .GetAsyncEnumerator(cancellationToken);
        await using (elements)
        {
            for (long index = 0; ; index++)
            {
                var location = new SourceLocation(source, index, SourceLocation.Kind.Element);
                bool more;
                ChatCompletionValidationException? malformed = null;
                try
                {
                    more = await elements.MoveNextAsync();
                }
                catch (JsonException e)
                {
                    // Past malformed JSON nothing can be read reliably.
                    more = false;
                    malformed = new ChatCompletionValidationException(
                        "$", ChatCompletionValidationRule.MalformedJson, $"is not well-formed JSON at line {e.LineNumber + 1}; the rest of the file is skipped", e);
                }

                if (malformed is not null)
                {
                    yield return new ImportItem(location, null, malformed);
                }

                if (!more)
                {
                    yield break;
                }

                // The element's own bytes: GetRawText would decode invalid UTF-8 in it leniently, or throw.
                yield return Parse(location, JsonMarshal.GetRawUtf8Value(elements.Current));
            }
        }
    }

    private static bool IsJsonLines(string path) =>
        Path.GetExtension(path).Equals(".jsonl", StringComparison.OrdinalIgnoreCase)
        || Path.GetExtension(path).Equals(".ndjson", StringComparison.OrdinalIgnoreCase);

    private static ImportItem Parse(SourceLocation location, ReadOnlySpan<byte> json)
    {
        try
        {
            return new ImportItem(location, ChatCompletionJson.Parse(json), null);
        }
        catch (ChatCompletionValidationException e)
        {
            return new ImportItem(location, null, e);
        }
    }

    /// <summary>Whether the first significant byte opens an array; leaves the stream at its start.</summary>
    private static async Task<bool> StartsWithArrayAsync(Stream stream, CancellationToken cancellationToken)
    {
        var buffer = new byte[1];
        var isArray = false;
        while (await stream.ReadAsync(buffer, cancellationToken) == 1)
        {
            // Whitespace and a UTF-8 byte order mark may come first.
            if (buffer[0] is not ((byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n' or 0xEF or 0xBB or 0xBF))
            {
                isArray = buffer[0] == (byte)'[';
                break;
            }
        }

        stream.Position = 0;
        return isArray;
    }
}

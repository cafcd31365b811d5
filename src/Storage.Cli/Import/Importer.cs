using System.Diagnostics;
using System.Globalization;

namespace Storage.Cli.Import;

/// <summary>
/// Feeds parsed completions to the store's bulk path and reports what became of each: a rejected item on standard
/// error with its location and reason, progress while it runs, and a summary on standard output at the end.
/// </summary>
internal sealed class Importer(ChatCompletionStore store, CliConsole console)
{
    private static readonly TimeSpan ProgressInterval = TimeSpan.FromMilliseconds(250);

    private readonly Stopwatch _elapsed = new();
    private TimeSpan _progressShownAt;
    private bool _progressShown;

    public long Imported { get; private set; }

    public long Skipped { get; private set; }

    public long Rejected { get; private set; }

    private long Processed => Imported + Skipped + Rejected;

    private double Rate => _elapsed.Elapsed.TotalSeconds > 0 ? Processed / _elapsed.Elapsed.TotalSeconds : 0;

    /// <summary>Imports the items and writes the summary, also when the import stops on a failure or cancellation.</summary>
    public async Task ImportAsync(IAsyncEnumerable<ImportItem> items, CancellationToken cancellationToken)
    {
        // Locations of the completions handed to the store but not yet reported. The store answers each batch in
        // input order once it has committed, so this holds at most one batch.
        var pending = new Queue<SourceLocation>();
        _elapsed.Restart();
        try
        {
            await foreach (var result in store.SaveManyAsync(Parsed(), cancellationToken))
            {
                var location = pending.Dequeue();
                switch (result)
                {
                    case { Error: { } error }:
                        await RejectAsync(location, error);
                        break;
                    case { Outcome: SaveOutcome.Stored }:
                        Imported++;
                        break;
                    default:
                        Skipped++;
                        break;
                }

                await ShowProgressAsync();
            }
        }
        finally
        {
            _elapsed.Stop();
            await ClearProgressAsync();
            await WriteSummaryAsync();
        }

        // Items that do not parse are reported here and never reach the store.
        async IAsyncEnumerable<ChatCompletion> Parsed()
        {
            await foreach (var item in items)
            {
                if (item.Completion is null)
                {
                    await RejectAsync(item.Location, item.Error!);
                    continue;
                }

                pending.Enqueue(item.Location);
                yield return item.Completion;
            }
        }
    }

    private async Task RejectAsync(SourceLocation location, Exception error)
    {
        Rejected++;
        await ClearProgressAsync();
        await console.Error.WriteLineAsync($"{location}: {error.Message}");
    }

    private async Task ShowProgressAsync()
    {
        if (!console.ShowProgress || _elapsed.Elapsed - _progressShownAt < ProgressInterval)
        {
            return;
        }

        _progressShownAt = _elapsed.Elapsed;
        _progressShown = true;
        await console.Error.WriteAsync(string.Create(
            CultureInfo.InvariantCulture, $"\r{Processed:N0} read: {Imported:N0} imported, {Skipped:N0} skipped, {Rejected:N0} rejected ({Rate:N0}/s)"));
    }

    private async Task ClearProgressAsync()
    {
        if (_progressShown)
        {
            _progressShown = false;
            // Back to the line start and erase it (ANSI), so what follows is not mixed with the progress line.
            await console.Error.WriteAsync("\r\u001b[K");
        }
    }

    private Task WriteSummaryAsync() =>
        console.Out.WriteLineAsync(string.Create(
            CultureInfo.InvariantCulture,
            $"imported {Imported}, skipped {Skipped} (already stored), rejected {Rejected}; {Processed} in {_elapsed.Elapsed.TotalSeconds:0.00} s ({Rate:0.0} completions/s)"));
}

using System.Diagnostics;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Storage;

/// <summary>
/// A buffered background writer for the request path: <see cref="EnqueueAsync"/> returns as soon as the
/// completion is queued, and a background loop flushes batches through the store's bulk path by size or
/// by time. <see cref="SaveAsync"/> does the same but completes when the completion is durable.
/// <see cref="DisposeAsync"/> flushes everything still queued. Counters are published on the
/// <c>Storage</c> meter (see <see cref="StorageTelemetry"/>).
/// </summary>
/// <remarks>
/// Completions still in the buffer when the process dies are lost: only what <see cref="SaveAsync"/> has
/// acknowledged is durable. A flush that fails, with any exception, fails the completions of that flush (after
/// <see cref="ChatCompletionWriterOptions.MaxFlushAttempts"/> for a transient database error), is logged and counted,
/// and the writer goes on with the next; no caller of <see cref="SaveAsync"/> is left waiting.
/// </remarks>
public sealed partial class ChatCompletionWriter : IAsyncDisposable
{
    private readonly ChatCompletionStore _store;
    private readonly ChatCompletionWriterOptions _options;
    private readonly ILogger _logger;
    private readonly Channel<Pending> _channel;
    private readonly Task _loop;
    private volatile bool _disposed;

    /// <summary>Creates a writer over a store and starts its background loop.</summary>
    public ChatCompletionWriter(ChatCompletionStore store, ChatCompletionWriterOptions? options = null)
        : this(store, options, null)
    {
    }

    /// <summary>Creates a writer over a store that logs its failed flushes to <paramref name="logger"/>, and starts its background loop.</summary>
    public ChatCompletionWriter(ChatCompletionStore store, ChatCompletionWriterOptions? options, ILogger<ChatCompletionWriter>? logger)
    {
        ArgumentNullException.ThrowIfNull(store);
        _store = store;
        _logger = logger ?? (ILogger)NullLogger.Instance;
        _options = options ?? new ChatCompletionWriterOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(_options.Capacity, 1, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(_options.BatchSize, 1, nameof(options));
        _channel = Channel.CreateBounded<Pending>(new BoundedChannelOptions(_options.Capacity) { SingleReader = true });
        _loop = Task.Run(RunAsync);
    }

    /// <summary>
    /// Queues a completion and returns at once, or waits for room when the buffer is full and
    /// <see cref="ChatCompletionWriterOptions.FullMode"/> is <see cref="ChatCompletionWriterFullMode.Wait"/>.
    /// </summary>
    /// <returns><c>false</c> when the completion was dropped because the buffer was full.</returns>
    /// <exception cref="ObjectDisposedException">The writer is disposed.</exception>
    public async ValueTask<bool> EnqueueAsync(ChatCompletion completion, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(completion);
        return await WriteAsync(new Pending(completion, null), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Queues a completion and completes once its batch has committed: the outcome is durable.</summary>
    /// <exception cref="ChatCompletionValidationException">The completion was rejected.</exception>
    /// <exception cref="ChatCompletionStoreException">It could not be written, or was dropped because the buffer was full.</exception>
    /// <exception cref="ObjectDisposedException">The writer is disposed.</exception>
    /// <exception cref="Exception">
    /// Any other exception its flush failed with, as the store threw it: <see cref="ObjectDisposedException"/> when the
    /// store's data source was disposed, say.
    /// </exception>
    public async Task<SaveOutcome> SaveAsync(ChatCompletion completion, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(completion);
        var done = new TaskCompletionSource<SaveOutcome>(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!await WriteAsync(new Pending(completion, done), cancellationToken).ConfigureAwait(false))
        {
            throw new ChatCompletionStoreException("The completion was dropped: the writer's buffer is full.");
        }

        return await done.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Stops accepting completions and flushes everything already queued: each queued <see cref="SaveAsync"/> completes
    /// with its outcome or its flush's failure.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        _disposed = true;
        _channel.Writer.TryComplete();
        await _loop.ConfigureAwait(false);
    }

    private async ValueTask<bool> WriteAsync(Pending pending, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_options.FullMode == ChatCompletionWriterFullMode.Drop)
        {
            if (!_channel.Writer.TryWrite(pending))
            {
                // Closed by a dispose that began after the check above: not a full buffer.
                ObjectDisposedException.ThrowIf(_disposed, this);
                StorageTelemetry.Dropped.Add(1);
                return false;
            }
        }
        else
        {
            try
            {
                await _channel.Writer.WriteAsync(pending, cancellationToken).ConfigureAwait(false);
            }
            catch (ChannelClosedException e)
            {
                throw new ObjectDisposedException(nameof(ChatCompletionWriter), e);
            }
        }

        StorageTelemetry.Queued.Add(1);
        return true;
    }

    private async Task RunAsync()
    {
        var reader = _channel.Reader;
        var batch = new List<Pending>(_options.BatchSize);
        try
        {
            await CollectAndFlushAsync(reader, batch).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            // FlushAsync handles every failure of a flush, so this is a bug in the loop itself; still, nobody may be left
            // waiting: refuse new completions and fail the ones held.
            LogLoopFailed(_logger, e);
            _disposed = true;
            _channel.Writer.TryComplete();
            Fail(batch, e);
            while (reader.TryRead(out var pending))
            {
                Fail([pending], e);
            }
        }
    }

    private async Task CollectAndFlushAsync(ChannelReader<Pending> reader, List<Pending> batch)
    {
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            // A batch closes when it is full or FlushInterval after its first completion, whichever comes first.
            var deadline = Stopwatch.GetTimestamp() + (long)(_options.FlushInterval.TotalSeconds * Stopwatch.Frequency);
            while (batch.Count < _options.BatchSize)
            {
                if (reader.TryRead(out var pending))
                {
                    batch.Add(pending);
                    continue;
                }

                var remaining = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), deadline);
                if (remaining <= TimeSpan.Zero)
                {
                    break;
                }

                var more = reader.WaitToReadAsync().AsTask();
                if (await Task.WhenAny(more, Task.Delay(remaining)).ConfigureAwait(false) != more || !await more.ConfigureAwait(false))
                {
                    break;
                }
            }

            await FlushAsync(batch).ConfigureAwait(false);
            batch.Clear();
        }
    }

    private async Task FlushAsync(List<Pending> batch)
    {
        // A flush serves many callers: a root span, not a child of whatever was current when the writer was created.
        Activity.Current = null;
        using var activity = StorageTelemetry.ActivitySource.StartActivity("storage.writer.flush");
        activity?.SetTag("storage.batch.size", batch.Count);
        var started = Stopwatch.GetTimestamp();
        // The store writes a long batch in several transactions; after a failure only what it has not reported is sent
        // again, so no completion is written or counted twice.
        var remaining = Enumerable.Range(0, batch.Count).ToList();
        var reported = new bool[batch.Count];
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await foreach (var result in _store.SaveManyAsync(remaining.Select(i => batch[i].Completion)).ConfigureAwait(false))
                {
                    var index = remaining[(int)result.Position];
                    reported[index] = true;
                    if (result.Error is { } error)
                    {
                        StorageTelemetry.Rejected.Add(1);
                        batch[index].Done?.TrySetException(error);
                    }
                    else
                    {
                        StorageTelemetry.Written.Add(1);
                        batch[index].Done?.TrySetResult(result.Outcome!.Value);
                    }
                }

                StorageTelemetry.FlushDuration.Record(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                return;
            }
            catch (ChatCompletionStoreException e) when (e.IsTransient && attempt < _options.MaxFlushAttempts)
            {
                // Replays are recognised, so writing again what a lost commit may have stored never stores it twice.
                remaining = remaining.Where(i => !reported[i]).ToList();
                LogFlushRetried(_logger, e, remaining.Count, attempt, e.Message);
                await Task.Delay(TimeSpan.FromMilliseconds(100 * Math.Pow(2, attempt))).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                // Any exception, not only the store's own: one that escaped would end the loop and leave every caller
                // queued behind this flush waiting for ever.
                var failed = remaining.Where(i => !reported[i]).Select(i => batch[i]).ToList();
                activity?.SetStatus(ActivityStatusCode.Error, e.GetType().Name);
                LogFlushFailed(_logger, e, failed.Count, attempt, e.GetType().Name);
                Fail(failed, e);
                return;
            }
        }
    }

    private static void Fail(IReadOnlyCollection<Pending> pending, Exception error)
    {
        StorageTelemetry.Failed.Add(pending.Count);
        foreach (var item in pending)
        {
            item.Done?.TrySetException(error);
        }
    }

    // Messages name the exception's type and the store's message (operation and SQLSTATE), never completion content.
    [LoggerMessage(Level = LogLevel.Warning, Message = "A buffered writer's flush failed on a transient error; {Count} completions are tried again after attempt {Attempt}: {Reason}")]
    private static partial void LogFlushRetried(ILogger logger, Exception exception, int count, int attempt, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "A buffered writer gave up on {Count} completions after {Attempts} attempts: the flush failed with {ExceptionType}")]
    private static partial void LogFlushFailed(ILogger logger, Exception exception, int count, int attempts, string exceptionType);

    [LoggerMessage(Level = LogLevel.Critical, Message = "A buffered writer's loop failed; it accepts no more completions and failed those it held")]
    private static partial void LogLoopFailed(ILogger logger, Exception exception);

    private sealed record Pending(ChatCompletion Completion, TaskCompletionSource<SaveOutcome>? Done);
}

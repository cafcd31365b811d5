namespace Storage;

/// <summary>Options of a <see cref="ChatCompletionWriter"/>.</summary>
public sealed class ChatCompletionWriterOptions
{
    /// <summary>How many completions the buffer holds before <see cref="FullMode"/> applies. Defaults to 10,000.</summary>
    public int Capacity { get; set; } = 10_000;

    /// <summary>The most completions written in one flush. Defaults to 1,000.</summary>
    public int BatchSize { get; set; } = 1_000;

    /// <summary>The longest a queued completion waits for its batch to fill before it is flushed anyway. Defaults to 200 ms.</summary>
    public TimeSpan FlushInterval { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>What happens when the buffer is full. Defaults to <see cref="ChatCompletionWriterFullMode.Wait"/>.</summary>
    public ChatCompletionWriterFullMode FullMode { get; set; } = ChatCompletionWriterFullMode.Wait;

    /// <summary>
    /// How often a flush that failed on a transient database error is tried again before its completions are
    /// given up (and counted as failed). Retrying is safe: a replay is recognised, never stored twice. Defaults to 5.
    /// </summary>
    public int MaxFlushAttempts { get; set; } = 5;
}

/// <summary>What a full <see cref="ChatCompletionWriter"/> does with one more completion.</summary>
public enum ChatCompletionWriterFullMode
{
    /// <summary>The caller waits for room (backpressure).</summary>
    Wait,

    /// <summary>The new completion is dropped and counted; the caller never waits.</summary>
    Drop,
}

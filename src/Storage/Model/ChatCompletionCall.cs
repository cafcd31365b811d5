using System.Text.Json;

namespace Storage;

/// <summary>
/// What is known of the call that produced a completion: the request, its timings and its trace. Stored beside the
/// completion when set on <see cref="ChatCompletion.Call"/>; it is not part of the vendor's JSON, nor of the content
/// hash, so saving the same completion again with a different call is still <see cref="SaveOutcome.AlreadyStored"/>
/// and keeps the first call.
/// </summary>
public sealed class ChatCompletionCall
{
    /// <summary>When the request was sent. Stored with microsecond precision, PostgreSQL's, so finer ticks are dropped when set.</summary>
    public required DateTimeOffset StartedAt
    {
        get;
        set => field = new DateTimeOffset(Microseconds(value.UtcTicks), TimeSpan.Zero);
    }

    /// <summary>
    /// The request body in OpenAI's chat-completions request shape (<c>model</c>, <c>messages</c>, <c>tools</c>,
    /// <c>temperature</c>, <c>store</c>, <c>metadata</c>, …), as sent; stored as <c>jsonb</c>.
    /// <see cref="ChatCompletionStore.ListMessagesAsync"/> lists its <c>messages</c>.
    /// </summary>
    public JsonElement? Request { get; set; }

    /// <summary>From sending the request to the end of the response (of the stream, for streams); microsecond precision.</summary>
    public TimeSpan? Latency
    {
        get;
        set => field = value is { } latency ? NonNegative(latency, nameof(Latency)) : null;
    }

    /// <summary>For a stream, from sending the request to its first content; microsecond precision.</summary>
    public TimeSpan? TimeToFirstToken
    {
        get;
        set => field = value is { } latency ? NonNegative(latency, nameof(TimeToFirstToken)) : null;
    }

    /// <summary>The W3C trace id (32 lowercase hex digits) of the call's activity, to join the completion to its trace.</summary>
    public string? TraceId { get; set; }

    /// <summary>The W3C span id (16 lowercase hex digits) of the call's activity.</summary>
    public string? SpanId { get; set; }

    /// <summary>The request as the <c>jsonb</c> column holds it.</summary>
    internal string? RequestJson
    {
        get => Request?.GetRawText();
        set => Request = value is null ? null : JsonElement.Parse(value);
    }

    private static long Microseconds(long ticks) => ticks - (ticks % (TimeSpan.TicksPerMillisecond / 1000));

    private static TimeSpan NonNegative(TimeSpan value, string name) =>
        value >= TimeSpan.Zero
            ? TimeSpan.FromTicks(Microseconds(value.Ticks))
            : throw new ArgumentOutOfRangeException(name, value, "A duration cannot be negative.");
}

namespace Storage.AI;

/// <summary>Options of a <see cref="ChatCompletionRecordingChatClient"/>.</summary>
public sealed class ChatCompletionRecorderOptions
{
    /// <summary>
    /// Whether the request (input messages, tools, options such as <c>temperature</c> or <c>store</c>) is stored beside
    /// the completion, in <c>ChatCompletion.Call.Request</c>. On by default; turn it off when prompts must not be kept.
    /// Timings and trace ids are stored either way.
    /// </summary>
    public bool RecordRequest { get; set; } = true;

    /// <summary>
    /// Options of the buffered writers created for the tenants of <see cref="ChatCompletionScope"/>s (one per tenant,
    /// flushed when the chat client is disposed). The default tenant uses the writer the client was given.
    /// </summary>
    public ChatCompletionWriterOptions TenantWriter { get; set; } = new();
}

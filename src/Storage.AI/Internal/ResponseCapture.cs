namespace Storage.AI.Internal;

/// <summary>
/// What the capture policy saw of one chat-completions call: the exact response body, or the exact chunks of a stream.
/// The recorder opens one around each call; the policy, running further down the same async flow, fills it.
/// </summary>
internal sealed class ResponseCapture
{
    private static readonly AsyncLocal<ResponseCapture?> Ambient = new();

    public static ResponseCapture? Current => Ambient.Value;

    /// <summary>The buffered body of a plain call.</summary>
    public BinaryData? Body { get; set; }

    /// <summary>The chunks of a streamed call, as far as they were read.</summary>
    public SseChunkCollector? Stream { get; set; }

    /// <summary>Opens a capture for the rest of the calling async method (an async method's changes to an AsyncLocal never reach its caller).</summary>
    public static ResponseCapture Begin() => Ambient.Value = new ResponseCapture();
}

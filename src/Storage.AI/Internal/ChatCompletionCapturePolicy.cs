using System.ClientModel.Primitives;

namespace Storage.AI.Internal;

/// <summary>
/// Keeps the exact response of chat-completions calls made inside a recording (<see cref="ResponseCapture"/>): the body
/// of a plain call, or the chunks of a stream as the SDK reads them. Outside a recording it does nothing.
/// </summary>
internal sealed class ChatCompletionCapturePolicy : PipelinePolicy
{
    public static ChatCompletionCapturePolicy Instance { get; } = new();

    public override void Process(PipelineMessage message, IReadOnlyList<PipelinePolicy> pipeline, int currentIndex)
    {
        var capture = ResponseCapture.Current;
        ProcessNext(message, pipeline, currentIndex);
        Capture(message, capture);
    }

    public override async ValueTask ProcessAsync(PipelineMessage message, IReadOnlyList<PipelinePolicy> pipeline, int currentIndex)
    {
        var capture = ResponseCapture.Current;
        await ProcessNextAsync(message, pipeline, currentIndex).ConfigureAwait(false);
        Capture(message, capture);
    }

    private static void Capture(PipelineMessage message, ResponseCapture? capture)
    {
        if (capture is null || message.Response is not { IsError: false } response
            || message.Request.Uri?.AbsolutePath.EndsWith("/chat/completions", StringComparison.Ordinal) != true)
        {
            return;
        }

        if (message.BufferResponse)
        {
            capture.Body = response.Content;
        }
        else if (response.ContentStream is { } stream)
        {
            capture.Stream = new SseChunkCollector();
            response.ContentStream = new CapturingStream(stream, capture.Stream);
        }
    }
}

using System.ClientModel.Primitives;
using Storage.AI.Internal;

namespace OpenAI;

/// <summary>Lets the recording chat client keep OpenAI's responses byte for byte.</summary>
public static class OpenAIClientOptionsExtensions
{
    /// <summary>
    /// Adds a pipeline policy that hands the exact response of each chat-completions call (the body, or a stream's
    /// chunks as the SDK reads them) to the <c>UseChatCompletionStore()</c> middleware recording the call, so vendor
    /// members the SDK does not model are stored too. Outside a recorded call it does nothing; it never buffers a stream.
    /// </summary>
    public static OpenAIClientOptions AddChatCompletionCapture(this OpenAIClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.AddPolicy(ChatCompletionCapturePolicy.Instance, PipelinePosition.PerCall);
        return options;
    }
}

using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Storage;
using Storage.AI;

namespace Microsoft.Extensions.AI;

/// <summary>Adds chat-completion recording to a chat client pipeline.</summary>
public static class ChatCompletionStoreChatClientBuilderExtensions
{
    /// <summary>
    /// Records every completion of the client, with its request, timings and trace ids, into the
    /// <see cref="ChatCompletionStore"/> and <see cref="ChatCompletionWriter"/> registered by
    /// <c>services.AddChatCompletionStore()</c> (or the ones given). Never fails or slows a call because storage failed.
    /// See <see cref="ChatCompletionRecordingChatClient"/>.
    /// </summary>
    /// <param name="builder">The chat client builder.</param>
    /// <param name="configure">Adjusts the recording options.</param>
    /// <param name="store">The store, when not taken from the builder's services.</param>
    /// <param name="writer">The buffered writer over <paramref name="store"/>, when not taken from the builder's services.</param>
    public static ChatClientBuilder UseChatCompletionStore(
        this ChatClientBuilder builder,
        Action<ChatCompletionRecorderOptions>? configure = null,
        ChatCompletionStore? store = null,
        ChatCompletionWriter? writer = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = new ChatCompletionRecorderOptions();
        configure?.Invoke(options);
        return builder.Use((inner, services) => new ChatCompletionRecordingChatClient(
            inner,
            store ?? services.GetRequiredService<ChatCompletionStore>(),
            writer ?? services.GetRequiredService<ChatCompletionWriter>(),
            options,
            services.GetService<ILoggerFactory>()?.CreateLogger<ChatCompletionRecordingChatClient>()));
    }
}

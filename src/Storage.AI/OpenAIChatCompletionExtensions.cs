using System.ClientModel;
using Storage;
using Storage.AI.Internal;

namespace OpenAI.Chat;

/// <summary>Turns the OpenAI SDK's chat completions into ones the store keeps.</summary>
public static class OpenAIChatCompletionExtensions
{
    /// <summary>
    /// The completion exactly as the vendor sent it: the raw response body of the call, read losslessly.
    /// <code>
    /// ClientResult&lt;ChatCompletion&gt; result = await chatClient.CompleteChatAsync(messages);
    /// await store.SaveAsync(result.ToStoredCompletion());
    /// </code>
    /// </summary>
    /// <exception cref="ChatCompletionValidationException">The body is not a completion the store accepts; names the field.</exception>
    public static Storage.ChatCompletion ToStoredCompletion(this ClientResult<ChatCompletion> result)
    {
        ArgumentNullException.ThrowIfNull(result);
        return ChatCompletionJson.Parse(result.GetRawResponse().Content.ToMemory().Span);
    }

    /// <summary>
    /// The completion through the SDK's own JSON form of the object. Prefer the <see cref="ClientResult{T}"/> overload
    /// when you have it: the SDK's round trip can drop vendor members it does not model and round floats.
    /// </summary>
    public static Storage.ChatCompletion ToStoredCompletion(this ChatCompletion completion)
    {
        ArgumentNullException.ThrowIfNull(completion);
        return CompletionMapper.FromOpenAI(completion);
    }

    /// <summary>
    /// Adds a streamed update, through the SDK's JSON form of it, to an assembler; <see cref="ChatCompletionChunkAssembler.ToCompletion"/>
    /// then gives the completion of the stream as far as it went.
    /// <code>
    /// var assembler = new ChatCompletionChunkAssembler();
    /// await foreach (var update in chatClient.CompleteChatStreamingAsync(messages))
    /// {
    ///     assembler.Add(update);
    ///     …
    /// }
    /// await store.SaveAsync(assembler.ToCompletion());
    /// </code>
    /// </summary>
    public static void Add(this ChatCompletionChunkAssembler assembler, StreamingChatCompletionUpdate update)
    {
        ArgumentNullException.ThrowIfNull(assembler);
        ArgumentNullException.ThrowIfNull(update);
        CompletionMapper.AddTo(assembler, update);
    }
}

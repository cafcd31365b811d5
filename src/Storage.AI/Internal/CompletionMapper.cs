using System.ClientModel.Primitives;
using System.Text.Json;
using Microsoft.Extensions.AI;

namespace Storage.AI.Internal;

/// <summary>Turns what a chat client returned into the completion to store, as exactly as the client allows.</summary>
internal static class CompletionMapper
{
    /// <summary>The vendor's JSON as the OpenAI SDK writes its own object back: close to the wire, but the SDK's round trip can drop or add members.</summary>
    public static ChatCompletion FromOpenAI(OpenAI.Chat.ChatCompletion completion) =>
        ChatCompletionJson.Parse(ModelReaderWriter.Write(completion, ModelReaderWriterOptions.Json).ToMemory().Span);

    public static void AddTo(ChatCompletionChunkAssembler assembler, OpenAI.Chat.StreamingChatCompletionUpdate update) =>
        assembler.Add(ModelReaderWriter.Write(update, ModelReaderWriterOptions.Json).ToMemory());

    /// <summary>A completion made from the abstraction's fields, for clients that are not OpenAI's.</summary>
    public static ChatCompletion FromResponse(ChatResponse response, ChatOptions? options, DateTimeOffset started)
    {
        var message = new ChatCompletionMessage { Role = response.Messages.FirstOrDefault()?.Role.Value ?? ChatRole.Assistant.Value };
        var contents = response.Messages.SelectMany(m => m.Contents).ToList();
        var texts = contents.OfType<TextContent>().ToList();
        var calls = contents.OfType<FunctionCallContent>().ToList();
        var reasoning = contents.OfType<TextReasoningContent>().ToList();
        if (texts.Count > 0 || calls.Count == 0)
        {
            message.Content = string.Concat(texts.Select(t => t.Text));
        }

        if (reasoning.Count > 0)
        {
            message.Reasoning = string.Concat(reasoning.Select(r => r.Text));
        }

        if (calls.Count > 0)
        {
            message.ToolCalls = [.. calls.Select(call => new ChatToolCall
            {
                Id = call.CallId,
                Type = "function",
                Function = new ChatFunction { Name = call.Name, Arguments = JsonSerializer.Serialize(call.Arguments, Compact.Options) },
            })];
        }

        return new ChatCompletion
        {
            Id = response.ResponseId ?? $"chatcmpl-{Guid.NewGuid():N}",
            ObjectType = "chat.completion",
            Created = response.CreatedAt ?? started,
            Model = response.ModelId ?? options?.ModelId ?? "unknown",
            Choices = [new ChatChoice { Index = 0, Message = message, FinishReason = response.FinishReason?.Value }],
            Usage = response.Usage is { } usage ? Usage(usage) : null,
        };
    }

    private static ChatUsage Usage(UsageDetails usage) => new()
    {
        PromptTokens = usage.InputTokenCount ?? 0,
        CompletionTokens = usage.OutputTokenCount ?? 0,
        TotalTokens = usage.TotalTokenCount ?? (usage.InputTokenCount ?? 0) + (usage.OutputTokenCount ?? 0),
        PromptTokensDetails = usage.CachedInputTokenCount is { } cached ? new ChatPromptTokensDetails { CachedTokens = cached } : null,
        CompletionTokensDetails = usage.ReasoningTokenCount is { } reasoning ? new ChatCompletionTokensDetails { ReasoningTokens = reasoning } : null,
    };
}

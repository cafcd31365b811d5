using System.Buffers;
using System.ClientModel.Primitives;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.AI;

namespace Storage.AI.Internal;

/// <summary>Writes a call's messages and options as the body of an OpenAI chat-completions request.</summary>
internal static class RequestJson
{
    public static JsonElement Write(IEnumerable<ChatMessage> messages, ChatOptions? options, IChatClient inner, bool stream)
    {
        var body = new JsonObject();

        // Options given the OpenAI way (RawRepresentationFactory) come first: they are what the adapter starts from.
        foreach (var (name, value) in RawOptions(options, inner))
        {
            body[name] = value?.DeepClone();
        }

        void Set(string name, JsonNode? value)
        {
            if (value is not null && body[name] is null)
            {
                body[name] = value;
            }
        }

        Set("model", options?.ModelId);
        var wire = new JsonArray();
        if (options?.Instructions is { Length: > 0 } instructions)
        {
            wire.Add(new JsonObject { ["role"] = "system", ["content"] = instructions });
        }

        foreach (var message in messages)
        {
            foreach (var item in Messages(message))
            {
                wire.Add(item);
            }
        }

        body["messages"] = wire;
        if (options is not null)
        {
            Set("temperature", options.Temperature);
            Set("top_p", options.TopP);
            Set("top_k", options.TopK);
            Set("max_completion_tokens", options.MaxOutputTokens);
            Set("frequency_penalty", options.FrequencyPenalty);
            Set("presence_penalty", options.PresencePenalty);
            Set("seed", options.Seed);
            Set("parallel_tool_calls", options.AllowMultipleToolCalls);
            if (options.StopSequences is { Count: > 0 } stop)
            {
                Set("stop", new JsonArray([.. stop.Select(s => JsonValue.Create(s))]));
            }

            Set("response_format", ResponseFormat(options.ResponseFormat));
            if (options.Tools is { Count: > 0 } tools)
            {
                Set("tools", new JsonArray([.. tools.OfType<AIFunctionDeclaration>().Select(Tool)]));
            }

            Set("tool_choice", options.ToolMode switch
            {
                NoneChatToolMode => "none",
                AutoChatToolMode => "auto",
                RequiredChatToolMode { RequiredFunctionName: { } name } => new JsonObject { ["type"] = "function", ["function"] = new JsonObject { ["name"] = name } },
                RequiredChatToolMode => "required",
                _ => null,
            });
            foreach (var (name, value) in options.AdditionalProperties ?? [])
            {
                Set(name, JsonSerializer.SerializeToNode(value, AIJsonUtilities.DefaultOptions));
            }
        }

        if (stream)
        {
            body["stream"] = true;
        }

        return JsonSerializer.SerializeToElement(body, AIJsonUtilities.DefaultOptions);
    }

    private static JsonObject RawOptions(ChatOptions? options, IChatClient inner)
    {
        try
        {
            return options?.RawRepresentationFactory?.Invoke(inner) is IPersistableModel<object> raw
                && JsonNode.Parse(ModelReaderWriter.Write(raw, ModelReaderWriterOptions.Json).ToString()) is JsonObject json
                ? json
                : [];
        }
#pragma warning disable CA1031 // Options the SDK cannot write leave the request without them; the completion is still recorded.
        catch (Exception)
#pragma warning restore CA1031
        {
            return [];
        }
    }

    private static IEnumerable<JsonObject> Messages(ChatMessage message)
    {
        // A message that came from the OpenAI SDK is written by the SDK itself, exactly.
        if (message.RawRepresentation is OpenAI.Chat.ChatMessage openAi
            && JsonNode.Parse(ModelReaderWriter.Write(openAi, ModelReaderWriterOptions.Json).ToString()) is JsonObject exact)
        {
            yield return exact;
            yield break;
        }

        foreach (var result in message.Contents.OfType<FunctionResultContent>())
        {
            yield return new JsonObject
            {
                ["role"] = "tool",
                ["tool_call_id"] = result.CallId,
                ["content"] = result.Result is string text ? text : JsonSerializer.Serialize(result.Result, Compact.Options),
            };
        }

        var contents = message.Contents.Where(c => c is not (FunctionResultContent or FunctionCallContent)).ToList();
        var calls = message.Contents.OfType<FunctionCallContent>().ToList();
        if (contents.Count == 0 && calls.Count == 0 && message.Contents.Count > 0)
        {
            yield break;
        }

        var wire = new JsonObject { ["role"] = message.Role.Value };
        if (message.AuthorName is { } name)
        {
            wire["name"] = name;
        }

        if (contents.All(c => c is TextContent))
        {
            wire["content"] = contents.Count == 0 && calls.Count > 0 ? null : string.Concat(contents.Cast<TextContent>().Select(t => t.Text));
        }
        else
        {
            wire["content"] = new JsonArray([.. contents.Select(Part).OfType<JsonObject>()]);
        }

        if (calls.Count > 0)
        {
            wire["tool_calls"] = new JsonArray([.. calls.Select(call => new JsonObject
            {
                ["id"] = call.CallId,
                ["type"] = "function",
                ["function"] = new JsonObject
                {
                    ["name"] = call.Name,
                    ["arguments"] = JsonSerializer.Serialize(call.Arguments, Compact.Options),
                },
            })]);
        }

        yield return wire;
    }

    private static JsonObject? Part(AIContent content) => content switch
    {
        TextContent text => new JsonObject { ["type"] = "text", ["text"] = text.Text },
        TextReasoningContent reasoning => new JsonObject { ["type"] = "reasoning", ["text"] = reasoning.Text },
        UriContent { } uri when uri.HasTopLevelMediaType("image") => new JsonObject { ["type"] = "image_url", ["image_url"] = new JsonObject { ["url"] = uri.Uri.ToString() } },
        DataContent data when data.HasTopLevelMediaType("image") => new JsonObject { ["type"] = "image_url", ["image_url"] = new JsonObject { ["url"] = data.Uri } },
        DataContent data when data.HasTopLevelMediaType("audio") => new JsonObject
        {
            ["type"] = "input_audio",
            ["input_audio"] = new JsonObject { ["data"] = Convert.ToBase64String(data.Data.Span), ["format"] = data.MediaType.Split('/')[1] switch { "mpeg" => "mp3", var f => f } },
        },
        DataContent data => new JsonObject { ["type"] = "file", ["file"] = new JsonObject { ["file_data"] = data.Uri, ["filename"] = data.Name } },
        _ => null,
    };

    private static JsonObject Tool(AIFunctionDeclaration function) => new()
    {
        ["type"] = "function",
        ["function"] = new JsonObject
        {
            ["name"] = function.Name,
            ["description"] = function.Description,
            ["parameters"] = JsonNode.Parse(function.JsonSchema.GetRawText()),
        },
    };

    private static JsonObject? ResponseFormat(ChatResponseFormat? format) => format switch
    {
        ChatResponseFormatText => new JsonObject { ["type"] = "text" },
        ChatResponseFormatJson { Schema: { } schema } json => new JsonObject
        {
            ["type"] = "json_schema",
            ["json_schema"] = new JsonObject
            {
                ["name"] = json.SchemaName ?? "response",
                ["description"] = json.SchemaDescription,
                ["schema"] = JsonNode.Parse(schema.GetRawText()),
            },
        },
        ChatResponseFormatJson => new JsonObject { ["type"] = "json_object" },
        _ => null,
    };
}

using System.Text.Json;
using System.Text.Json.Serialization;

namespace Storage.Internal;

internal sealed class ChatMessageContentConverter : JsonConverter<ChatMessageContent>
{
    public override ChatMessageContent Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        reader.TokenType == JsonTokenType.String
            ? new ChatMessageContent(reader.GetString()!)
            : new ChatMessageContent(JsonElement.ParseValue(ref reader));

    public override void Write(Utf8JsonWriter writer, ChatMessageContent value, JsonSerializerOptions options)
    {
        if (value.Text is { } text)
        {
            writer.WriteStringValue(text);
        }
        else
        {
            value.Parts!.Value.WriteTo(writer);
        }
    }
}

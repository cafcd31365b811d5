using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Storage.Internal;

/// <summary>
/// A JSON object put together from the pieces a stream sends: each member is merged by the rule its caller
/// picks. A member that only ever came as <c>null</c> is written as an explicit <c>null</c>; one that never came is absent.
/// </summary>
internal sealed class MergedJsonObject
{
    private readonly Dictionary<string, Slot> _members = new(StringComparer.Ordinal);
    private readonly List<string> _order = [];

    public bool Has(string name) => _members.ContainsKey(name);

    /// <summary>The member's string value, when it holds one.</summary>
    public string? StringOf(string name) =>
        _members.TryGetValue(name, out var slot) && slot.Kind == SlotKind.Value && slot.Value.ValueKind == JsonValueKind.String ? slot.Value.GetString() : null;

    /// <summary>The first non-null value wins.</summary>
    public void First(string name, JsonElement value)
    {
        if (value.ValueKind == JsonValueKind.Null)
        {
            NullIfAbsent(name);
        }
        else if (!_members.TryGetValue(name, out var slot) || slot.Kind == SlotKind.Null)
        {
            Put(name, new Slot { Kind = SlotKind.Value, Value = value.Clone() });
        }
    }

    /// <summary>The last non-null value wins, replaced whole.</summary>
    public void Last(string name, JsonElement value)
    {
        if (value.ValueKind == JsonValueKind.Null)
        {
            NullIfAbsent(name);
        }
        else
        {
            Put(name, new Slot { Kind = SlotKind.Value, Value = value.Clone() });
        }
    }

    /// <summary>String pieces are concatenated.</summary>
    public void Concat(string name, JsonElement value, string path)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.Null:
                NullIfAbsent(name);
                break;
            case JsonValueKind.String:
                if (_members.TryGetValue(name, out var slot) && slot.Kind == SlotKind.Text)
                {
                    slot.Text!.Append(value.GetString());
                }
                else
                {
                    Put(name, new Slot { Kind = SlotKind.Text, Text = new StringBuilder(value.GetString()) });
                }

                break;
            default:
                throw Invalid(path, "must be a string or null");
        }
    }

    /// <summary>Array items are appended.</summary>
    public void Append(string name, JsonElement value, string path)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.Null:
                NullIfAbsent(name);
                break;
            case JsonValueKind.Array:
                if (!_members.TryGetValue(name, out var slot) || slot.Kind != SlotKind.Items)
                {
                    slot = new Slot { Kind = SlotKind.Items, Items = [] };
                    Put(name, slot);
                }

                foreach (var item in value.EnumerateArray())
                {
                    slot.Items!.Add(item.Clone());
                }

                break;
            default:
                throw Invalid(path, "must be an array or null");
        }
    }

    /// <summary>
    /// Message content: string pieces are concatenated; once an array of parts arrives the content becomes parts,
    /// and adjacent parts of one type are merged (their text concatenated), so a streamed Mistral answer reads
    /// back as the few parts the non-streamed response has.
    /// </summary>
    public void Content(string name, JsonElement value, string path)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.Null:
                NullIfAbsent(name);
                return;
            case JsonValueKind.String when !_members.TryGetValue(name, out var slot) || slot.Kind != SlotKind.Parts:
                Concat(name, value, path);
                return;
            case JsonValueKind.String:
                ContentParts.Append(_members[name].Parts!, new JsonObject { ["type"] = "text", ["text"] = value.GetString() });
                return;
            case JsonValueKind.Array:
                var parts = PartsSlot(name);
                foreach (var part in value.EnumerateArray())
                {
                    ContentParts.Append(parts, JsonNode.Parse(part.GetRawText()));
                }

                return;
            default:
                throw Invalid(path, "must be a string, an array of parts or null");
        }
    }

    /// <summary>A nested object merged member by member; <c>null</c> (remembered) when the value is <c>null</c>.</summary>
    public MergedJsonObject? Child(string name, JsonElement value, string path)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.Null:
                NullIfAbsent(name);
                return null;
            case JsonValueKind.Object:
                return ChildObject(name);
            default:
                throw Invalid(path, "must be an object or null");
        }
    }

    /// <summary>A nested object, created empty when missing.</summary>
    public MergedJsonObject ChildObject(string name)
    {
        if (!_members.TryGetValue(name, out var slot) || slot.Kind != SlotKind.Object)
        {
            slot = new Slot { Kind = SlotKind.Object, Object = new MergedJsonObject() };
            Put(name, slot);
        }

        return slot.Object!;
    }

    /// <summary>
    /// The rule for members nobody knows: objects are merged member by member, arrays appended, other values
    /// replaced by the last non-null one.
    /// </summary>
    public void Merge(string name, JsonElement value)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.Object:
                var child = ChildObject(name);
                foreach (var member in value.EnumerateObject())
                {
                    child.Merge(member.Name, member.Value);
                }

                break;
            case JsonValueKind.Array:
                Append(name, value, name);
                break;
            default:
                Last(name, value);
                break;
        }
    }

    public void WriteTo(Utf8JsonWriter writer)
    {
        writer.WriteStartObject();
        WriteMembers(writer);
        writer.WriteEndObject();
    }

    public void WriteMembers(Utf8JsonWriter writer)
    {
        foreach (var name in _order)
        {
            writer.WritePropertyName(name);
            var slot = _members[name];
            switch (slot.Kind)
            {
                case SlotKind.Null:
                    writer.WriteNullValue();
                    break;
                case SlotKind.Value:
                    slot.Value.WriteTo(writer);
                    break;
                case SlotKind.Text:
                    writer.WriteStringValue(slot.Text!.ToString());
                    break;
                case SlotKind.Items:
                    writer.WriteStartArray();
                    foreach (var item in slot.Items!)
                    {
                        item.WriteTo(writer);
                    }

                    writer.WriteEndArray();
                    break;
                case SlotKind.Parts:
                    slot.Parts!.WriteTo(writer);
                    break;
                default:
                    slot.Object!.WriteTo(writer);
                    break;
            }
        }
    }

    internal static ChatCompletionValidationException Invalid(string path, string detail) =>
        new(path, ChatCompletionValidationRule.InvalidValue, detail);

    private JsonArray PartsSlot(string name)
    {
        if (_members.TryGetValue(name, out var slot) && slot.Kind == SlotKind.Parts)
        {
            return slot.Parts!;
        }

        var parts = new JsonArray();
        if (slot is { Kind: SlotKind.Text })
        {
            parts.Add(new JsonObject { ["type"] = "text", ["text"] = slot.Text!.ToString() });
        }

        Put(name, new Slot { Kind = SlotKind.Parts, Parts = parts });
        return parts;
    }

    private void NullIfAbsent(string name)
    {
        if (!_members.ContainsKey(name))
        {
            Put(name, new Slot { Kind = SlotKind.Null });
        }
    }

    private void Put(string name, Slot slot)
    {
        if (_members.TryAdd(name, slot))
        {
            _order.Add(name);
        }
        else
        {
            _members[name] = slot;
        }
    }

    private enum SlotKind
    {
        Null,
        Value,
        Text,
        Items,
        Parts,
        Object,
    }

    private sealed class Slot
    {
        public SlotKind Kind { get; init; }

        public JsonElement Value { get; init; }

        public StringBuilder? Text { get; init; }

        public List<JsonElement>? Items { get; init; }

        public JsonArray? Parts { get; init; }

        public MergedJsonObject? Object { get; init; }
    }
}

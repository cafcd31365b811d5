using System.Text.Json;
using System.Text.Json.Serialization;
using Storage.Internal;

namespace Storage;

/// <summary>
/// A JSON object of the chat-completion wire format. Besides its typed properties it keeps every member
/// that the typed properties do not know (vendor extensions) and remembers which known members were sent
/// as an explicit <c>null</c>, so that an object read from JSON writes back to semantically equal JSON.
/// </summary>
public abstract class WireObject
{
    private HashSet<string>? _explicitNulls;

    private protected WireObject()
    {
    }

    /// <summary>
    /// Members of this JSON object that the typed properties do not carry, such as vendor extensions
    /// (<c>x_groq</c>, <c>content_filter_results</c>, <c>reasoning_details</c>). Written back as they came.
    /// </summary>
    [JsonExtensionData]
    public IDictionary<string, JsonElement>? AdditionalProperties { get; set; }

    internal bool IsExplicitNull(string jsonName) => _explicitNulls?.Contains(jsonName) == true;

    internal void MarkExplicitNull(string jsonName) => (_explicitNulls ??= new(StringComparer.Ordinal)).Add(jsonName);

    /// <summary>
    /// The column form of <see cref="AdditionalProperties"/> plus the known members sent as <c>null</c>:
    /// one JSON object, or <c>null</c> when there is nothing to keep. A known member with a <c>null</c> value
    /// in it means "present and null"; a typed column that is <c>NULL</c> otherwise means "absent".
    /// </summary>
    internal string? StoredExtras
    {
        get => WireExtras.Write(this, _explicitNulls);
        set => WireExtras.Read(this, value, out _explicitNulls);
    }
}

using System.Collections.Concurrent;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace Storage.Internal;

/// <summary>The serializer options of the wire format, shared by the public reader/writer and the jsonb columns.</summary>
internal static class WireJson
{
    private static readonly ConcurrentDictionary<Type, FrozenMembers> KnownMembers = new();

    public static JsonSerializerOptions Options { get; } = CreateOptions();

    public static string Serialize<T>(T value) => JsonSerializer.Serialize(value, Options);

    public static T Deserialize<T>(string json) => JsonSerializer.Deserialize<T>(json, Options)!;

    /// <summary>The JSON names of the typed properties of a wire type.</summary>
    public static bool IsKnownMember(Type type, string jsonName) =>
        KnownMembers.GetOrAdd(type, static t => new FrozenMembers(Options.GetTypeInfo(t))).Contains(jsonName);

    private static JsonSerializerOptions CreateOptions()
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.General)
        {
            PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
            RespectNullableAnnotations = true,
            AllowDuplicateProperties = false,
            // Output is JSON for machines and terminals, never embedded in HTML: keep non-ASCII text readable.
            Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
            TypeInfoResolver = new DefaultJsonTypeInfoResolver { Modifiers = { TrackExplicitNulls } },
            Converters = { new FiniteDoubleConverter() },
        };
        options.MakeReadOnly(populateMissingResolver: false);
        return options;
    }

    // A nullable member is written when it has a value or when it was read as an explicit null,
    // which keeps "absent" and "null" apart without a tri-state type on every property.
    private static void TrackExplicitNulls(JsonTypeInfo info)
    {
        if (info.Kind != JsonTypeInfoKind.Object || !info.Type.IsAssignableTo(typeof(WireObject)))
        {
            return;
        }

        foreach (var property in info.Properties)
        {
            if (property.IsExtensionData || property.Set is not { } set
                || (property.PropertyType.IsValueType && Nullable.GetUnderlyingType(property.PropertyType) is null))
            {
                continue;
            }

            var name = property.Name;
            property.Set = (target, value) =>
            {
                if (value is null)
                {
                    ((WireObject)target).MarkExplicitNull(name);
                }

                set(target, value);
            };
            property.ShouldSerialize = (target, value) => value is not null || ((WireObject)target).IsExplicitNull(name);
        }
    }

    private sealed class FrozenMembers(JsonTypeInfo info)
    {
        private readonly HashSet<string> _names = info.Properties.Where(p => !p.IsExtensionData).Select(p => p.Name).ToHashSet(StringComparer.Ordinal);

        public bool Contains(string name) => _names.Contains(name);
    }
}

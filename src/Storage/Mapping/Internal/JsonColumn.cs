using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.ChangeTracking;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;

namespace Storage.Internal;

/// <summary>
/// Maps a wire-format value to a <c>jsonb</c> column through the wire serializer, so nested objects keep
/// their unknown members and explicit nulls exactly as the public reader and writer do.
/// </summary>
internal static class JsonColumn
{
    public static PropertyBuilder<T?> HasJsonColumn<T>(this PropertyBuilder<T?> property)
        where T : class =>
        property.HasColumnType("jsonb").HasConversion(Converter<T>(), Comparer<T>());

    public static ComplexTypePropertyBuilder<T?> HasJsonColumn<T>(this ComplexTypePropertyBuilder<T?> property)
        where T : class =>
        property.HasColumnType("jsonb").HasConversion(Converter<T>(), Comparer<T>());

    private static ValueConverter<T?, string> Converter<T>()
        where T : class =>
        new(value => WireJson.Serialize(value), json => WireJson.Deserialize<T>(json));

    private static ValueComparer<T?> Comparer<T>()
        where T : class =>
        new(
            (left, right) => WireJson.Serialize(left) == WireJson.Serialize(right),
            value => WireJson.Serialize(value).GetHashCode(StringComparison.Ordinal),
            value => value == null ? null : WireJson.Deserialize<T>(WireJson.Serialize(value)));
}

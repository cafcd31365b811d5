using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata;
using NpgsqlTypes;

namespace Storage.Internal;

/// <summary>
/// The bulk path's columns, taken from the EF model: the bulk path names a property and how to read it from a row, and
/// the model gives its column's name, its store type and its value converter. Building them checks the list in full:
/// every property it names must map to a column of the table, and every column EF writes (all but those the database
/// fills: defaults, the row version) must be in the list. A renamed column follows; a new one fails loudly at first use.
/// </summary>
internal static class BulkColumns
{
    // The store types the bulk path writes, as the model spells them.
    private static readonly Dictionary<string, NpgsqlDbType> StoreTypes = new(StringComparer.Ordinal)
    {
        ["bigint"] = NpgsqlDbType.Bigint,
        ["integer"] = NpgsqlDbType.Integer,
        ["text"] = NpgsqlDbType.Text,
        ["jsonb"] = NpgsqlDbType.Jsonb,
        ["bytea"] = NpgsqlDbType.Bytea,
        ["timestamp with time zone"] = NpgsqlDbType.TimestampTz,
        ["interval"] = NpgsqlDbType.Interval,
        ["numeric"] = NpgsqlDbType.Numeric,
        ["boolean"] = NpgsqlDbType.Boolean,
    };

    /// <summary>A property's path from the entity: its name, after the complex properties that hold it (<c>Usage.PromptTokens</c>).</summary>
    public static string Path(params string[] names) => string.Join('.', names);

    /// <summary>The columns of a table in the order of <paramref name="values"/>, each from the property it names.</summary>
    /// <exception cref="InvalidOperationException">The list and the model's columns of the table differ.</exception>
    public static BulkCopy.Column<T>[] For<T>(string table, params (string Property, Func<T, object?> Value)[] values)
    {
        var mapped = StorageModel.Model.GetRelationalModel().FindTable(table, null)
            ?? throw new InvalidOperationException($"The EF model has no table {table}.");
        var written = mapped.Columns
            .Select(column => (Column: column, Property: column.PropertyMappings[0].Property))
            .Where(c => c.Property.ValueGenerated == ValueGenerated.Never)
            .ToDictionary(c => PathOf(c.Property), StringComparer.Ordinal);
        var missing = written.Keys.Except(values.Select(v => v.Property), StringComparer.Ordinal).ToList();
        var unknown = values.Select(v => v.Property).Except(written.Keys, StringComparer.Ordinal).ToList();
        if (missing.Count > 0 || unknown.Count > 0)
        {
            throw new InvalidOperationException(
                $"The bulk columns of {table} differ from the EF model: not written {Names(missing)}; not in the model {Names(unknown)}.");
        }

        return values.Select(v =>
        {
            var (column, property) = written[v.Property];
            var type = StoreTypes.TryGetValue(column.StoreType, out var t)
                ? t
                : throw new InvalidOperationException($"The bulk path does not write the store type {column.StoreType} of {table}.{column.Name}.");
            var value = property.GetTypeMapping().Converter is { } converter
                ? row => converter.ConvertToProvider(v.Value(row))
                : v.Value;
            return new BulkCopy.Column<T>(column.Name, type, value);
        }).ToArray();
    }

    private static string PathOf(IPropertyBase property) =>
        property.DeclaringType is IComplexType complex ? PathOf(complex.ComplexProperty) + "." + property.Name : property.Name;

    private static string Names(List<string> names) => names.Count == 0 ? "none" : string.Join(", ", names);
}

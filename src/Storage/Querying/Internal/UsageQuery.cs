using Npgsql;
using NpgsqlTypes;

namespace Storage.Internal;

/// <summary>
/// The SQL of the usage totals. Hand-written rather than LINQ because EF cannot translate "the value of metadata key k"
/// on a value-converted column; the text depends only on which groupings and filters are on, and every value is a
/// parameter. Without a metadata filter or grouping, whole UTC days come from the per-day rollup that triggers keep
/// (see the Baseline migration) and only the partial days at the range's edges are scanned. This
/// class chooses the statement and its conditions and parameters; the statements' text is <see cref="UsageSql"/>.
/// </summary>
internal sealed record UsageQuery(string Sql, object[] Parameters)
{
    public const string RollupTable = UsageSql.RollupTable;

    private static readonly TimeSpan LastSecond = TimeSpan.FromDays(1) - TimeSpan.FromSeconds(1);

    public static UsageQuery Build(string tenant, ChatCompletionFilter? filter, ChatCompletionUsageGrouping grouping) =>
        grouping.ByMetadataKey is null && (filter is null || (FilterValues.CanMatch(filter) && FilterValues.ContainedMetadata(filter) is null))
            ? BuildFromRollup(tenant, filter, grouping)
            : BuildScan(tenant, filter, grouping);

    /// <summary>Sums every matching row; the only way when metadata filters or groups, and the reference the rollup is tested against.</summary>
    internal static UsageQuery BuildScan(string tenant, ChatCompletionFilter? filter, ChatCompletionUsageGrouping grouping)
    {
        var parameters = new List<object> { Parameter("tenant", NpgsqlDbType.Text, tenant) };
        var conditions = new List<string> { "c.tenant = @tenant" };
        Conditions(filter, conditions, parameters);

        var groupKey = grouping.ByMetadataKey;
        string metadataValue;
        if (groupKey is null)
        {
            metadataValue = "NULL::text";
        }
        else if (FilterValues.IsStorable(groupKey))
        {
            metadataValue = "c.metadata ->> @group_key";
            parameters.Add(Parameter("group_key", NpgsqlDbType.Text, groupKey));
        }
        else
        {
            // No stored key holds such a character: every completion lacks it.
            metadataValue = "NULL::text";
        }

        return new UsageQuery(UsageSql.Scan(grouping, metadataValue, conditions), [.. parameters]);
    }

    /// <summary>
    /// Whole UTC days inside the range from the rollup, the partial days at its edges from the rows. Created times are
    /// whole seconds, so a day is whole when its first and last seconds are inside the (inclusive) bounds.
    /// </summary>
    internal static UsageQuery BuildFromRollup(string tenant, ChatCompletionFilter? filter, ChatCompletionUsageGrouping grouping)
    {
        var parameters = new List<object> { Parameter("tenant", NpgsqlDbType.Text, tenant) };
        var rollup = new List<string> { "d.tenant = @tenant" };
        var rows = new List<string> { "c.tenant = @tenant" };
        if (filter?.Model is { } model)
        {
            rollup.Add("d.model = @model");
            rows.Add("c.model = @model");
            parameters.Add(Parameter("model", NpgsqlDbType.Text, model));
        }

        var from = filter?.CreatedFrom is { } createdFrom ? CeilingToSecond(createdFrom.UtcDateTime) : (DateTime?)null;
        var to = filter?.CreatedTo is { } createdTo ? FloorToSecond(createdTo.UtcDateTime) : (DateTime?)null;
        // The whole days are the day numbers [first, end); a null end is unbounded.
        int? first = from is { } f ? DayNumber(f) + (f.TimeOfDay == TimeSpan.Zero ? 0 : 1) : null;
        int? end = to is { } t ? DayNumber(t) + (t.TimeOfDay == LastSecond ? 1 : 0) : null;
        var edges = new List<string>();
        if (first > DateOnly.MaxValue.DayNumber || (first is { } a && end is { } b && a >= b))
        {
            // No whole day: the range is scanned, and the rollup contributes nothing.
            rollup.Add("FALSE");
            var range = new List<string>();
            if (from is not null)
            {
                range.Add("c.created >= @from");
                parameters.Add(Parameter("from", NpgsqlDbType.TimestampTz, from.Value));
            }

            if (to is not null)
            {
                range.Add("c.created <= @to");
                parameters.Add(Parameter("to", NpgsqlDbType.TimestampTz, to.Value));
            }

            edges.Add(string.Join(" AND ", range));
        }
        else
        {
            if (first is { } firstDay)
            {
                rollup.Add("d.day >= @first_day");
                parameters.Add(Parameter("first_day", NpgsqlDbType.Date, DateOnly.FromDayNumber(firstDay)));
                if (from!.Value.TimeOfDay != TimeSpan.Zero)
                {
                    edges.Add("c.created >= @from AND c.created < @first_day_start");
                    parameters.Add(Parameter("from", NpgsqlDbType.TimestampTz, from.Value));
                    parameters.Add(Parameter("first_day_start", NpgsqlDbType.TimestampTz, Midnight(firstDay)));
                }
            }

            if (end is { } endDay && endDay <= DateOnly.MaxValue.DayNumber)
            {
                rollup.Add("d.day < @end_day");
                parameters.Add(Parameter("end_day", NpgsqlDbType.Date, DateOnly.FromDayNumber(endDay)));
                if (to!.Value.TimeOfDay != LastSecond)
                {
                    edges.Add("c.created >= @end_day_start AND c.created <= @to");
                    parameters.Add(Parameter("to", NpgsqlDbType.TimestampTz, to.Value));
                    parameters.Add(Parameter("end_day_start", NpgsqlDbType.TimestampTz, Midnight(endDay)));
                }
            }
        }

        return new UsageQuery(UsageSql.FromRollup(grouping, rollup, rows, edges), [.. parameters]);
    }

    private static void Conditions(ChatCompletionFilter? filter, List<string> conditions, List<object> parameters)
    {
        if (filter is null)
        {
            return;
        }

        if (!FilterValues.CanMatch(filter))
        {
            conditions.Add("FALSE");
            return;
        }

        if (filter.Model is { } model)
        {
            conditions.Add("c.model = @model");
            parameters.Add(Parameter("model", NpgsqlDbType.Text, model));
        }

        if (FilterValues.ContainedMetadata(filter) is { } contained)
        {
            conditions.Add("c.metadata @> @metadata");
            parameters.Add(Parameter("metadata", NpgsqlDbType.Jsonb, contained));
        }

        if (filter.CreatedFrom is { } from)
        {
            conditions.Add("c.created >= @created_from");
            parameters.Add(Parameter("created_from", NpgsqlDbType.TimestampTz, from.ToUniversalTime()));
        }

        if (filter.CreatedTo is { } to)
        {
            conditions.Add("c.created <= @created_to");
            parameters.Add(Parameter("created_to", NpgsqlDbType.TimestampTz, to.ToUniversalTime()));
        }
    }

    private static NpgsqlParameter Parameter(string name, NpgsqlDbType type, object value) => new(name, type) { Value = value };

    private static int DayNumber(DateTime value) => DateOnly.FromDateTime(value).DayNumber;

    private static DateTime Midnight(int dayNumber) => DateOnly.FromDayNumber(dayNumber).ToDateTime(TimeOnly.MinValue, DateTimeKind.Utc);

    private static DateTime FloorToSecond(DateTime value) =>
        new(value.Ticks - (value.Ticks % TimeSpan.TicksPerSecond), DateTimeKind.Utc);

    private static DateTime CeilingToSecond(DateTime value)
    {
        var floor = FloorToSecond(value);
        return floor == value || floor.Ticks + TimeSpan.TicksPerSecond > DateTime.MaxValue.Ticks ? floor : floor.AddSeconds(1);
    }
}

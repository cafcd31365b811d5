using Npgsql;
using NpgsqlTypes;

namespace Storage.Internal;

/// <summary>
/// The SQL of the usage totals. Hand-written rather than LINQ because EF cannot translate "the value of metadata key k"
/// on a value-converted column; the text depends only on which groupings and filters are on, and every value is a
/// parameter. When the filter has nothing but a model and a created range and nothing groups by metadata, whole UTC days
/// and hours come from the rollups that triggers keep (see the Baseline migration) and only the partial hours at the
/// range's ends are scanned; any other filter (metadata, search, the choice and call conditions) sums the rows. This
/// class chooses the statement and its conditions and parameters; the statements' text is <see cref="UsageSql"/>.
/// </summary>
internal sealed record UsageQuery(string Sql, object[] Parameters)
{
    public const string RollupTable = UsageSql.RollupTable;

    // The last whole second .NET can represent: a range that ends there is unbounded above.
    private static readonly DateTime LastInstant = new(DateTime.MaxValue.Ticks - (DateTime.MaxValue.Ticks % TimeSpan.TicksPerSecond), DateTimeKind.Utc);

    /// <param name="tenant">The tenant whose completions are summed.</param>
    /// <param name="onCitus">Whether the database is a Citus coordinator, where one condition is written differently (<see cref="UsageSql.NoChoice"/>).</param>
    /// <param name="filter">Which completions to sum.</param>
    /// <param name="grouping">How to group the totals.</param>
    public static UsageQuery Build(string tenant, bool onCitus, ChatCompletionFilter? filter, ChatCompletionUsageGrouping grouping) =>
        grouping.ByMetadataKey is null && FilterValues.OnlyModelAndCreated(filter)
            ? BuildFromRollup(tenant, filter, grouping)
            : BuildScan(tenant, onCitus, filter, grouping);

    /// <summary>Sums every matching row; the only way when metadata groups or any filter but model and created is set, and the reference the rollup is tested against.</summary>
    internal static UsageQuery BuildScan(string tenant, bool onCitus, ChatCompletionFilter? filter, ChatCompletionUsageGrouping grouping)
    {
        var parameters = new List<object> { Parameter("tenant", NpgsqlDbType.Text, tenant) };
        var conditions = new List<string> { "c.tenant = @tenant" };
        Conditions(filter, onCitus, conditions, parameters);

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
    /// Whole UTC days inside the range from the daily rollup, whole UTC hours of the partial days at its edges from the
    /// hourly rollup, and only the partial hours at its two ends from the rows. Created times are whole seconds, so the
    /// inclusive bounds are the half-open range [from, to + 1 s), and a day or hour is whole when it lies inside it.
    /// </summary>
    internal static UsageQuery BuildFromRollup(string tenant, ChatCompletionFilter? filter, ChatCompletionUsageGrouping grouping)
    {
        var parameters = new List<object> { Parameter("tenant", NpgsqlDbType.Text, tenant) };
        var scope = new List<string> { "tenant = @tenant" };
        if (filter?.Model is { } model)
        {
            scope.Add("model = @model");
            parameters.Add(Parameter("model", NpgsqlDbType.Text, model));
        }

        // Null ends are unbounded; an end past the last representable second is unbounded too.
        var from = filter?.CreatedFrom is { } createdFrom ? CeilingToSecond(createdFrom.UtcDateTime) : (DateTime?)null;
        var end = filter?.CreatedTo is { } createdTo && FloorToSecond(createdTo.UtcDateTime) is var to && to < LastInstant ? to.AddSeconds(1) : (DateTime?)null;
        var days = new List<string>();
        var hours = new List<string>();
        var rows = new List<string>();
        if (from is null || end is null || from < end)
        {
            // A bound's whole days start at its ceiling; none when that is past the last day .NET can represent.
            var dayFrom = Ceiling(from, TimeSpan.TicksPerDay);
            var dayEnd = Floor(end, TimeSpan.TicksPerDay);
            if ((from is null || dayFrom is not null) && (dayFrom is null || dayEnd is null || dayFrom < dayEnd))
            {
                days.Add(Range("d.day", dayFrom, dayEnd, parameters, NpgsqlDbType.Date));
                Hours(from, dayFrom);
                Hours(dayEnd, end);
            }
            else
            {
                Hours(from, end);
            }
        }

        return new UsageQuery(UsageSql.FromRollup(grouping, scope, days, hours, rows), [.. parameters]);

        // [start, stop): its whole hours from the hourly rollup, its partial hours from the rows. A null start is the
        // unbounded side the whole days already cover; a null stop (only past the last whole day) leaves rows to the end.
        void Hours(DateTime? start, DateTime? stop)
        {
            if (start is not { } a || a >= stop)
            {
                return;
            }

            if (Ceiling(a, TimeSpan.TicksPerHour) is { } hourFrom && Floor(stop, TimeSpan.TicksPerHour) is { } hourEnd && hourFrom < hourEnd)
            {
                hours.Add(Range("d.hour", hourFrom, hourEnd, parameters, NpgsqlDbType.TimestampTz));
                Rows(a, hourFrom);
                Rows(hourEnd, stop);
            }
            else
            {
                Rows(a, stop);
            }
        }

        void Rows(DateTime start, DateTime? stop)
        {
            if (start < stop || stop is null)
            {
                rows.Add(Range("c.created", start, stop, parameters, NpgsqlDbType.TimestampTz));
            }
        }
    }

    /// <summary>The half-open range [from, end) of a column (alias.name) as SQL, each bound a new parameter; a null bound is open.</summary>
    private static string Range(string column, DateTime? from, DateTime? end, List<object> parameters, NpgsqlDbType type)
    {
        var conditions = new List<string>();
        if (from is { } a)
        {
            var name = $"{column.Replace('.', '_')}_from_{parameters.Count}";
            conditions.Add($"{column} >= @{name}");
            parameters.Add(Parameter(name, type, type == NpgsqlDbType.Date ? DateOnly.FromDateTime(a) : a));
        }

        if (end is { } b)
        {
            var name = $"{column.Replace('.', '_')}_end_{parameters.Count}";
            conditions.Add($"{column} < @{name}");
            parameters.Add(Parameter(name, type, type == NpgsqlDbType.Date ? DateOnly.FromDateTime(b) : b));
        }

        return conditions.Count == 0 ? "TRUE" : string.Join(" AND ", conditions);
    }

    private static void Conditions(ChatCompletionFilter? filter, bool onCitus, List<string> conditions, List<object> parameters)
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

        if (filter.ServiceTier is { } serviceTier)
        {
            conditions.Add("c.service_tier = @service_tier");
            parameters.Add(Parameter("service_tier", NpgsqlDbType.Text, serviceTier));
        }

        if (filter.MinTotalTokens is { } minTokens)
        {
            conditions.Add("c.usage_total_tokens >= @min_total_tokens");
            parameters.Add(Parameter("min_total_tokens", NpgsqlDbType.Bigint, minTokens));
        }

        if (filter.MaxTotalTokens is { } maxTokens)
        {
            conditions.Add("c.usage_total_tokens <= @max_total_tokens");
            parameters.Add(Parameter("max_total_tokens", NpgsqlDbType.Bigint, maxTokens));
        }

        if (filter.MinLatency is { } minLatency)
        {
            conditions.Add("c.call_latency >= @min_latency");
            parameters.Add(Parameter("min_latency", NpgsqlDbType.Interval, minLatency));
        }

        if (filter.MaxLatency is { } maxLatency)
        {
            conditions.Add("c.call_latency <= @max_latency");
            parameters.Add(Parameter("max_latency", NpgsqlDbType.Interval, maxLatency));
        }

        if (filter.FinishReason is { } finishReason)
        {
            conditions.Add(UsageSql.AnyChoice("h.finish_reason = @finish_reason"));
            parameters.Add(Parameter("finish_reason", NpgsqlDbType.Text, finishReason));
        }

        if (filter.ToolName is { } toolName)
        {
            conditions.Add(UsageSql.AnyChoice("(h.message_tool_calls @> @tool_function OR h.message_tool_calls @> @tool_custom)"));
            parameters.Add(Parameter("tool_function", NpgsqlDbType.Jsonb, FilterValues.ToolCallContaining("function", toolName)));
            parameters.Add(Parameter("tool_custom", NpgsqlDbType.Jsonb, FilterValues.ToolCallContaining("custom", toolName)));
        }

        if (filter.HasToolCalls is { } hasToolCalls)
        {
            const string WithToolCalls = "h.message_tool_calls @> @any_tool_call";
            conditions.Add(hasToolCalls ? UsageSql.AnyChoice(WithToolCalls) : UsageSql.NoChoice(WithToolCalls, onCitus));
            parameters.Add(Parameter("any_tool_call", NpgsqlDbType.Jsonb, FilterValues.AnyToolCall));
        }

        if (FilterValues.Searched(filter) is { } search)
        {
            conditions.Add(UsageSql.Search("@search"));
            parameters.Add(Parameter("search", NpgsqlDbType.Text, FilterValues.LikePattern(search)));
        }
    }

    private static NpgsqlParameter Parameter(string name, NpgsqlDbType type, object value) => new(name, type) { Value = value };

    /// <summary>The first multiple of the unit at or after the instant (null when open, or past the last representable one).</summary>
    private static DateTime? Ceiling(DateTime? value, long unit) =>
        value is not { } v ? null
        : v.Ticks % unit == 0 ? v
        : v.Ticks - (v.Ticks % unit) + unit is var ticks && ticks <= DateTime.MaxValue.Ticks ? new DateTime(ticks, DateTimeKind.Utc)
        : null;

    /// <summary>The last multiple of the unit at or before the instant (null when open).</summary>
    private static DateTime? Floor(DateTime? value, long unit) =>
        value is { } v ? new DateTime(v.Ticks - (v.Ticks % unit), DateTimeKind.Utc) : null;

    private static DateTime FloorToSecond(DateTime value) =>
        new(value.Ticks - (value.Ticks % TimeSpan.TicksPerSecond), DateTimeKind.Utc);

    private static DateTime CeilingToSecond(DateTime value)
    {
        var floor = FloorToSecond(value);
        return floor == value || floor.Ticks + TimeSpan.TicksPerSecond > DateTime.MaxValue.Ticks ? floor : floor.AddSeconds(1);
    }
}

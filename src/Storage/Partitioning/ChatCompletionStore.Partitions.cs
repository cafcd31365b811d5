using Npgsql;
using NpgsqlTypes;
using Storage.Internal;

namespace Storage;

public sealed partial class ChatCompletionStore
{
    /// <summary>The default of <see cref="EnsurePartitionsAsync"/>: the current month and the next three.</summary>
    public const int DefaultPartitionMonthsAhead = 3;

    /// <summary>
    /// Makes the partitions that are missing: those of the current period through <paramref name="monthsAhead"/> months
    /// from now, and those of earlier periods the default partition holds rows of (whose rows it moves into them, without
    /// changing the usage totals). Periods are months unless the deployment chose another length
    /// (<c>storage_partition_settings</c>). A completion is stored whether or not its partition exists; this keeps the
    /// default partition small and lets retention drop whole partitions. Safe to call from several processes at once.
    /// </summary>
    /// <param name="monthsAhead">How far ahead to make partitions, 0 to 120 months.</param>
    /// <param name="cancellationToken">Cancels the call; a partition already made stays.</param>
    /// <returns>How many periods got their partitions.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="monthsAhead"/> is outside 0–120.</exception>
    /// <exception cref="ChatCompletionStoreException">The database failed, or the role may not insert completions.</exception>
    public Task<int> EnsurePartitionsAsync(int monthsAhead = DefaultPartitionMonthsAhead, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(monthsAhead);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(monthsAhead, 120);
        return ExecuteAsync("storage.ensure_partitions", "make the partitions", async token =>
        {
            await using var command = _dataSource.CreateCommand(PartitionSql.Ensure);
            command.Parameters.Add(new NpgsqlParameter("months_ahead", NpgsqlDbType.Integer) { Value = monthsAhead });
            return Convert.ToInt32(await command.ExecuteScalarAsync(token).ConfigureAwait(false), System.Globalization.CultureInfo.InvariantCulture);
        }, cancellationToken);
    }

    /// <summary>
    /// Folds the usage rollups' per-session stripes of past days and hours into one row each; the totals are unchanged.
    /// The maintenance service calls it after making partitions.
    /// </summary>
    internal Task<long> CompactUsageAsync(CancellationToken cancellationToken) =>
        ExecuteAsync("storage.compact_usage", "compact the usage rollups", async token =>
        {
            await using var command = _dataSource.CreateCommand(UsageSql.Compact);
            return Convert.ToInt64(await command.ExecuteScalarAsync(token).ConfigureAwait(false), System.Globalization.CultureInfo.InvariantCulture);
        }, cancellationToken);

    /// <summary>
    /// Lists the partitions of both tables with their bounds, estimated rows and bytes: each table's periods in order,
    /// then its default partition. Reads the catalog only; the same for every tenant.
    /// </summary>
    /// <param name="cancellationToken">Cancels the query.</param>
    /// <exception cref="ChatCompletionStoreException">The database failed.</exception>
    public Task<IReadOnlyList<ChatCompletionPartition>> ListPartitionsAsync(CancellationToken cancellationToken = default) =>
        ExecuteAsync<IReadOnlyList<ChatCompletionPartition>>("storage.list_partitions", "list the partitions", async token =>
        {
            await using var command = _dataSource.CreateCommand(PartitionSql.List);
            await using var reader = await command.ExecuteReaderAsync(token).ConfigureAwait(false);
            var partitions = new List<ChatCompletionPartition>();
            while (await reader.ReadAsync(token).ConfigureAwait(false))
            {
                partitions.Add(new ChatCompletionPartition(
                    reader.GetString(0),
                    reader.GetString(1),
                    reader.IsDBNull(2) ? null : reader.GetFieldValue<DateTimeOffset>(2),
                    reader.IsDBNull(3) ? null : reader.GetFieldValue<DateTimeOffset>(3),
                    reader.GetBoolean(4),
                    reader.IsDBNull(5) ? null : reader.GetInt64(5),
                    reader.GetInt64(6)));
            }

            return partitions;
        }, cancellationToken);

    /// <summary>
    /// Whether retention may drop whole partitions for this filter, and the range they must lie in: only when the filter
    /// selects every completion of a period (no condition but the created range), since a partition holds all of its
    /// period's rows.
    /// </summary>
    private static bool DropsWholePartitions(DateTimeOffset createdBefore, ChatCompletionFilter? filter, out DateTimeOffset? notBefore, out DateTimeOffset cutoff)
    {
        notBefore = filter?.CreatedFrom;
        cutoff = createdBefore;
        if (filter is null)
        {
            return true;
        }

        if (filter.Model is not null || !FilterValues.OnlyModelAndCreated(filter))
        {
            return false;
        }

        // CreatedTo is inclusive; created is stored to the microsecond.
        if (filter.CreatedTo is { } to && to < DateTimeOffset.MaxValue.AddTicks(-10) && to.AddTicks(10) < cutoff)
        {
            cutoff = to.AddTicks(10);
        }

        return true;
    }

    /// <summary>
    /// Drops the partitions wholly in [<paramref name="notBefore"/>, <paramref name="createdBefore"/>) that hold only this
    /// store's tenant's completions (the database checks the tenant, as row-level security would).
    /// </summary>
    /// <returns>How many completions the dropped partitions held; 0 when none could be dropped (their rows are then deleted one by one).</returns>
    private Task<long> DropPartitionsBeforeAsync(DateTimeOffset createdBefore, DateTimeOffset? notBefore, CancellationToken cancellationToken) =>
        ExecuteAsync(null, "drop partitions", async token =>
        {
            await using var connection = await _dataSource.OpenConnectionAsync(token).ConfigureAwait(false);
            if (_claim.MustBeSet)
            {
                await using var tenant = new NpgsqlCommand(TenantSql.SetTenant, connection);
                tenant.Parameters.AddRange(TenantSql.ClaimParameters(_claim));
                await tenant.ExecuteNonQueryAsync(token).ConfigureAwait(false);
            }

            await using var command = new NpgsqlCommand(PartitionSql.DropBefore, connection);
            command.Parameters.Add(new NpgsqlParameter("cutoff", NpgsqlDbType.TimestampTz) { Value = createdBefore.ToUniversalTime() });
            command.Parameters.Add(new NpgsqlParameter("not_before", NpgsqlDbType.TimestampTz)
            {
                Value = notBefore is { } from ? from.ToUniversalTime() : DBNull.Value,
            });
            return (long)(await command.ExecuteScalarAsync(token).ConfigureAwait(false))!;
        }, cancellationToken);
}

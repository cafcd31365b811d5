using Microsoft.EntityFrameworkCore;
using Npgsql;
using NpgsqlTypes;
using Storage.Internal;

namespace Storage;

public sealed partial class ChatCompletionStore
{
    /// <summary>Usage and cost of this store's tenant in buckets of <paramref name="width"/> from <paramref name="start"/> (inclusive) to <paramref name="end"/> (exclusive).</summary>
    internal async Task<IReadOnlyList<UsageBucket>> GetUsageBucketsAsync(
        DateTimeOffset start, DateTimeOffset end, TimeSpan width, bool byModel, CancellationToken cancellationToken) =>
        await ExecuteAsync("storage.usage", "sum usage", (db, token) =>
            db.Database.SqlQueryRaw<UsageBucket>(
                    BucketSql.Buckets(byModel),
                    new NpgsqlParameter("tenant", NpgsqlDbType.Text) { Value = db.Tenant },
                    new NpgsqlParameter("width", NpgsqlDbType.Interval) { Value = width },
                    new NpgsqlParameter("origin", NpgsqlDbType.TimestampTz) { Value = start.ToUniversalTime() },
                    new NpgsqlParameter("start", NpgsqlDbType.TimestampTz) { Value = start.ToUniversalTime() },
                    new NpgsqlParameter("end", NpgsqlDbType.TimestampTz) { Value = end.ToUniversalTime() })
                .ToListAsync(token),
            cancellationToken).ConfigureAwait(false);
}

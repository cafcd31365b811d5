using Npgsql;
using NpgsqlTypes;
using Storage.Internal;

namespace Storage;

public sealed partial class ChatCompletionStore
{
    /// <summary>
    /// Turns on or off the trigram indexes that serve <see cref="ChatCompletionFilter.Search"/> (seven GIN indexes of
    /// <c>pg_trgm</c> over the searchable text of the choices and of the stored request, on every partition, present and
    /// future). Off after the migration: they slow the bulk path several times (README, Querying), and search is correct
    /// without them, by a scan. Turning them on creates the <c>pg_trgm</c> extension when it is missing and builds the
    /// indexes over the stored rows (locking writes meanwhile; on a large table build each partition's index
    /// concurrently first, as the README says). Run it as the schema's owner, like migrations; the same for every tenant.
    /// </summary>
    /// <param name="enabled">Whether the indexes should exist.</param>
    /// <param name="cancellationToken">Cancels the call; an index build in flight is rolled back.</param>
    /// <exception cref="ChatCompletionStoreException">
    /// The database failed: the role may not create indexes (or execute the owner's function), or <c>pg_trgm</c> is
    /// neither installed nor installable (PostgreSQL's contrib is missing, or the role may not create extensions).
    /// </exception>
    public Task SetSearchIndexAsync(bool enabled, CancellationToken cancellationToken = default) =>
        ExecuteAsync("storage.search_index", enabled ? "turn the search index on" : "turn the search index off", async token =>
        {
            await using var command = _dataSource.CreateCommand(SearchSql.Switch);
            command.Parameters.Add(new NpgsqlParameter("enabled", NpgsqlDbType.Boolean) { Value = enabled });
            // Building the indexes over stored rows takes minutes on a large table (12 minutes for 1,000,000 completions
            // on the development machine), far past the connection's command timeout: the caller's token bounds it.
            command.CommandTimeout = 0;
            return await command.ExecuteScalarAsync(token).ConfigureAwait(false);
        }, cancellationToken);

    /// <summary>Whether the trigram indexes of search are on (all of them exist); any role may ask.</summary>
    /// <exception cref="ChatCompletionStoreException">The database failed.</exception>
    public Task<bool> HasSearchIndexAsync(CancellationToken cancellationToken = default) =>
        ExecuteAsync("storage.search_index", "read the search index", async token =>
        {
            await using var command = _dataSource.CreateCommand(SearchSql.Count);
            return (int)(await command.ExecuteScalarAsync(token).ConfigureAwait(false))! == SearchSql.IndexCount;
        }, cancellationToken);
}

using Storage.Internal;

namespace Storage;

public sealed partial class ChatCompletionStore
{
    /// <summary>Whether the database answers and holds the schema (the migrations were applied).</summary>
    internal Task<bool> HasSchemaAsync(CancellationToken cancellationToken) =>
        ExecuteAsync("storage.health", "check the database", async token =>
        {
            await using var command = _dataSource.CreateCommand(HealthSql.HasSchema);
            return await command.ExecuteScalarAsync(token).ConfigureAwait(false) is true;
        }, cancellationToken);

    /// <summary>Whether the read data source answers and holds the schema; <c>null</c> when the store reads the primary.</summary>
    internal async Task<bool?> ReadSourceHasSchemaAsync(CancellationToken cancellationToken)
    {
        if (_replica is null)
        {
            return null;
        }

        try
        {
            await using var command = _replica.DataSource.CreateCommand(HealthSql.HasSchema);
            return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is true;
        }
        catch (Exception e) when (StoreErrors.IsProviderFailure(e))
        {
            return false;
        }
    }
}

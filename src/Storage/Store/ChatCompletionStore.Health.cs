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
}

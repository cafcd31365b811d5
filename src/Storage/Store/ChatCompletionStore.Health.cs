using Npgsql;
using Storage.Internal;

namespace Storage;

public sealed partial class ChatCompletionStore
{
    /// <summary>Whether the database answers and holds the schema (the migrations were applied).</summary>
    internal async Task<bool> HasSchemaAsync(CancellationToken cancellationToken)
    {
        using var activity = StorageTelemetry.ActivitySource.StartActivity("storage.health");
        try
        {
            await using var command = _dataSource.CreateCommand("SELECT to_regclass('chat_completions') IS NOT NULL");
            return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is true;
        }
        catch (Exception e) when (StoreErrors.IsProviderFailure(e))
        {
            throw StoreErrors.Translate(e, "check the database");
        }
    }
}

using Npgsql;

namespace Storage.Tests;

/// <summary>
/// What a fault test finds in the tables once the server is back: how many rows each vendor id has, how many
/// completions lack some of their choices, and how many choices have no completion.
/// </summary>
internal sealed record StoredCensus(Dictionary<string, long> RowsPerId, long Partial, long Orphans)
{
    public static async Task<StoredCensus> ReadAsync(string connectionString, int choicesPerCompletion, CancellationToken cancellationToken)
    {
        // A fresh data source: the store's pool may still hold connections to the killed server.
        await using var check = NpgsqlDataSource.Create(connectionString);
        var rowsPerId = new Dictionary<string, long>(StringComparer.Ordinal);
        await using (var command = check.CreateCommand("SELECT id, count(*) FROM chat_completions GROUP BY id"))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                rowsPerId[reader.GetString(0)] = reader.GetInt64(1);
            }
        }

        await using var partial = check.CreateCommand(
            "SELECT count(*) FROM chat_completions c WHERE (SELECT count(*) FROM chat_completion_choices ch "
            + "WHERE ch.completion_key = c.completion_key AND ch.created = c.created) <> $1");
        partial.Parameters.Add(new NpgsqlParameter { Value = (long)choicesPerCompletion });
        await using var orphans = check.CreateCommand(
            "SELECT count(*) FROM chat_completion_choices ch "
            + "WHERE NOT EXISTS (SELECT 1 FROM chat_completions c WHERE c.completion_key = ch.completion_key AND c.created = ch.created)");
        return new StoredCensus(
            rowsPerId,
            (long)(await partial.ExecuteScalarAsync(cancellationToken))!,
            (long)(await orphans.ExecuteScalarAsync(cancellationToken))!);
    }
}

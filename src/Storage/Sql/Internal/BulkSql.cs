namespace Storage.Internal;

/// <summary>The statements of the bulk path (<see cref="BulkCopy"/>); the column lists come from the EF model.</summary>
internal static class BulkSql
{
    public const string CompletionStage = "storage_stage_completions";
    public const string ChoiceStage = "storage_stage_choices";
    public const string DirectSavepoint = "storage_direct";

    public const string SaveDirectSavepoint = $"SAVEPOINT {DirectSavepoint};";

    // The stages copy the tables' columns with their compression (lz4 where the server has it), so contents are
    // compressed once, on COPY, and the INSERT moves them as they are. ON COMMIT DELETE ROWS empties the stages at every
    // commit of a transaction that touched them; IF NOT EXISTS reuses them while a connection keeps its session. A
    // straight COPY never touches them, so its commit has no stages to empty.
    public static readonly string CreateStages =
        $"CREATE TEMP TABLE IF NOT EXISTS {CompletionStage} (LIKE {ChatCompletionConfiguration.TableName} INCLUDING DEFAULTS INCLUDING COMPRESSION) ON COMMIT DELETE ROWS;"
        + $"CREATE TEMP TABLE IF NOT EXISTS {ChoiceStage} (LIKE {ChatChoiceConfiguration.TableName} INCLUDING DEFAULTS INCLUDING COMPRESSION) ON COMMIT DELETE ROWS;";

    public static readonly string StoredHash =
        $"SELECT content_hash FROM {ChatCompletionConfiguration.TableName} WHERE completion_key = $1 AND created = $2";

    // The outer SELECT does not see the rows its CTE inserts, so a joined chat_completions row is one that
    // existed before: same hash means a replay. Sorting the insert keeps lock order stable across writers.
    // Two shapes are for Citus under row-level security: the choices' RETURNING makes Citus insert through
    // intermediate results rather than a COPY into the shards (which row-level security forbids), and the stored rows
    // are an inner join of the stage, materialized, because Citus 13.2's coordinator crashes (signal 11) on a LEFT JOIN
    // of a local table to a distributed table with a policy. One node runs both as it ran the plain forms.
    public static string Merge(IEnumerable<string> completionColumns, IEnumerable<string> choiceColumns)
    {
        var completionList = string.Join(", ", completionColumns);
        var choices = choiceColumns.ToList();
        var choiceList = string.Join(", ", choices);
        return $"""
            WITH inserted AS (
                INSERT INTO {ChatCompletionConfiguration.TableName} (tenant, {completionList})
                SELECT @tenant, {completionList} FROM {CompletionStage} ORDER BY completion_key, created
                ON CONFLICT (completion_key, created) DO NOTHING
                RETURNING completion_key, created),
            choices AS (
                INSERT INTO {ChatChoiceConfiguration.TableName} (tenant, {choiceList})
                SELECT @tenant, {string.Join(", ", choices.Select(c => "s." + c))}
                FROM {ChoiceStage} s JOIN inserted i USING (completion_key, created)
                RETURNING completion_key),
            stored AS MATERIALIZED (
                SELECT c.completion_key, c.created, c.content_hash
                FROM {CompletionStage} s JOIN {ChatCompletionConfiguration.TableName} c USING (completion_key, created))
            SELECT s.completion_key, s.created, i.completion_key IS NOT NULL, c.content_hash = s.content_hash
            FROM {CompletionStage} s
            LEFT JOIN inserted i USING (completion_key, created)
            LEFT JOIN stored c USING (completion_key, created)
            """;
    }

    public static string Copy(string table, string columns) => $"COPY {table} ({columns}) FROM STDIN (FORMAT BINARY)";
}

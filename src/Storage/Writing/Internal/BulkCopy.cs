using Npgsql;
using NpgsqlTypes;

namespace Storage.Internal;

/// <summary>
/// Writes one batch of validated completions in one transaction. Optimistically, binary COPY straight into the
/// tables, which is as fast as PostgreSQL ingests; if the batch meets a stored key (a replay or a collision) that
/// attempt is rolled back to a savepoint and the batch takes the staged path: binary COPY into session-local
/// staging tables, then one statement that inserts the new completions and the choices of exactly those.
/// The columns mirror the EF model (a test compares them). The staging tables are copies of the tables' columns
/// (defaults, NOT NULL and compression) without their keys or indexes, so COPY into them runs at full speed and the
/// checking happens in the single INSERT.
/// </summary>
internal static class BulkCopy
{
    public interface IRow
    {
        ChatCompletion Completion { get; }

        long Key { get; }

        byte[] Hash { get; }
    }

    public enum Written
    {
        Inserted,
        SameContent,
        Collision,
    }

    /// <summary>What became of the attempt to COPY straight into the tables.</summary>
    public enum Direct
    {
        NotTried,
        Copied,

        /// <summary>A stored key was met: the batch holds a replay (or a collision).</summary>
        Conflict,

        /// <summary>Row-level security applies to this role, and PostgreSQL does not support COPY FROM then.</summary>
        Unsupported,
    }

    /// <summary>What a store has learned of straight COPY on its data source.</summary>
    public sealed class DirectCopyState
    {
        /// <summary>The role is under row-level security, where PostgreSQL refuses COPY FROM: always stage.</summary>
        public bool Unsupported;
    }

    internal static readonly Column<IRow>[] CompletionColumns =
    [
        new("completion_key", NpgsqlDbType.Bigint, r => r.Key),
        new("created", NpgsqlDbType.TimestampTz, r => r.Completion.Created),
        new("id", NpgsqlDbType.Text, r => r.Completion.Id),
        new("object", NpgsqlDbType.Text, r => r.Completion.ObjectType),
        new("model", NpgsqlDbType.Text, r => r.Completion.Model),
        new("service_tier", NpgsqlDbType.Text, r => r.Completion.ServiceTier),
        new("system_fingerprint", NpgsqlDbType.Text, r => r.Completion.SystemFingerprint),
        new("metadata", NpgsqlDbType.Jsonb, r => Json(r.Completion.Metadata)),
        new("content_hash", NpgsqlDbType.Bytea, r => r.Hash),
        new("usage_prompt_tokens", NpgsqlDbType.Bigint, r => r.Completion.Usage?.PromptTokens),
        new("usage_completion_tokens", NpgsqlDbType.Bigint, r => r.Completion.Usage?.CompletionTokens),
        new("usage_total_tokens", NpgsqlDbType.Bigint, r => r.Completion.Usage?.TotalTokens),
        new("usage_prompt_tokens_details", NpgsqlDbType.Jsonb, r => Json(r.Completion.Usage?.PromptTokensDetails)),
        new("usage_completion_tokens_details", NpgsqlDbType.Jsonb, r => Json(r.Completion.Usage?.CompletionTokensDetails)),
        new("usage_extras", NpgsqlDbType.Jsonb, r => r.Completion.Usage?.StoredExtras),
        new("extras", NpgsqlDbType.Jsonb, r => r.Completion.StoredExtras),
        new("call_started_at", NpgsqlDbType.TimestampTz, r => r.Completion.Call?.StartedAt),
        new("call_request", NpgsqlDbType.Jsonb, r => r.Completion.Call?.RequestJson),
        new("call_latency", NpgsqlDbType.Interval, r => r.Completion.Call?.Latency),
        new("call_time_to_first_token", NpgsqlDbType.Interval, r => r.Completion.Call?.TimeToFirstToken),
        new("call_trace_id", NpgsqlDbType.Text, r => r.Completion.Call?.TraceId),
        new("call_span_id", NpgsqlDbType.Text, r => r.Completion.Call?.SpanId),
    ];

    internal static readonly Column<(IRow Row, ChatChoice Choice)>[] ChoiceColumns =
    [
        new("completion_key", NpgsqlDbType.Bigint, c => c.Row.Key),
        new("created", NpgsqlDbType.TimestampTz, c => c.Row.Completion.Created),
        new("index", NpgsqlDbType.Integer, c => c.Choice.Index),
        new("finish_reason", NpgsqlDbType.Text, c => c.Choice.FinishReason),
        new("logprobs", NpgsqlDbType.Jsonb, c => Json(c.Choice.Logprobs)),
        new("extras", NpgsqlDbType.Jsonb, c => c.Choice.StoredExtras),
        new("message_role", NpgsqlDbType.Text, c => c.Choice.Message.Role),
        new("message_content", NpgsqlDbType.Text, c => c.Choice.Message.ContentText),
        new("message_content_parts", NpgsqlDbType.Jsonb, c => c.Choice.Message.ContentParts),
        new("message_refusal", NpgsqlDbType.Text, c => c.Choice.Message.Refusal),
        new("message_tool_calls", NpgsqlDbType.Jsonb, c => Json(c.Choice.Message.ToolCalls)),
        new("message_function_call", NpgsqlDbType.Jsonb, c => Json(c.Choice.Message.FunctionCall)),
        new("message_audio", NpgsqlDbType.Jsonb, c => Json(c.Choice.Message.Audio)),
        new("message_annotations", NpgsqlDbType.Jsonb, c => Json(c.Choice.Message.Annotations)),
        new("message_reasoning", NpgsqlDbType.Text, c => c.Choice.Message.Reasoning),
        new("message_reasoning_content", NpgsqlDbType.Text, c => c.Choice.Message.ReasoningContent),
        new("message_extras", NpgsqlDbType.Jsonb, c => c.Choice.Message.StoredExtras),
    ];

    private const string CompletionStage = "storage_stage_completions";
    private const string ChoiceStage = "storage_stage_choices";
    private const string DirectSavepoint = "storage_direct";

    private static readonly string CompletionList = string.Join(", ", CompletionColumns.Select(c => c.Name));
    private static readonly string ChoiceList = string.Join(", ", ChoiceColumns.Select(c => c.Name));

    // The tenant is set for the transaction only, so row-level security sees it and a pooled connection never carries
    // it to its next user.
    private const string SetTenant = "SELECT set_config('storage.tenant', @tenant, true);";

    // The stages copy the tables' columns with their compression (lz4 where the server has it), so contents are
    // compressed once, on COPY, and the INSERT moves them as they are. ON COMMIT DELETE ROWS empties the stages at every
    // commit of a transaction that touched them; IF NOT EXISTS reuses them while a connection keeps its session. A
    // straight COPY never touches them, so its commit has no stages to empty.
    private static readonly string CreateStages =
        $"CREATE TEMP TABLE IF NOT EXISTS {CompletionStage} (LIKE {ChatCompletionConfiguration.TableName} INCLUDING DEFAULTS INCLUDING COMPRESSION) ON COMMIT DELETE ROWS;"
        + $"CREATE TEMP TABLE IF NOT EXISTS {ChoiceStage} (LIKE {ChatChoiceConfiguration.TableName} INCLUDING DEFAULTS INCLUDING COMPRESSION) ON COMMIT DELETE ROWS;";

    // The outer SELECT does not see the rows its CTE inserts, so a joined chat_completions row is one that
    // existed before: same hash means a replay. Sorting the insert keeps lock order stable across writers.
    private static readonly string Merge = $"""
        WITH inserted AS (
            INSERT INTO {ChatCompletionConfiguration.TableName} (tenant, {CompletionList})
            SELECT @tenant, {CompletionList} FROM {CompletionStage} ORDER BY completion_key, created
            ON CONFLICT (completion_key, created) DO NOTHING
            RETURNING completion_key, created),
        choices AS (
            INSERT INTO {ChatChoiceConfiguration.TableName} (tenant, {ChoiceList})
            SELECT @tenant, {string.Join(", ", ChoiceColumns.Select(c => "s." + c.Name))}
            FROM {ChoiceStage} s JOIN inserted i USING (completion_key, created))
        SELECT s.completion_key, s.created, i.completion_key IS NOT NULL, c.content_hash = s.content_hash
        FROM {CompletionStage} s
        LEFT JOIN inserted i USING (completion_key, created)
        LEFT JOIN {ChatCompletionConfiguration.TableName} c USING (completion_key, created)
        """;

    public static async Task<(Dictionary<(long Key, DateTimeOffset Created), Written> Written, Direct Direct)> WriteAsync(
        NpgsqlDataSource dataSource, string tenant, IReadOnlyCollection<IRow> rows, bool tryDirect, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        // One round trip before the first COPY: the tenant, and the savepoint or the stages.
        await using (var prepare = new NpgsqlCommand(SetTenant + (tryDirect ? $"SAVEPOINT {DirectSavepoint};" : CreateStages), connection, transaction))
        {
            prepare.Parameters.Add(new NpgsqlParameter("tenant", NpgsqlDbType.Text) { Value = tenant });
            await prepare.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        var direct = Direct.NotTried;
        if (tryDirect)
        {
            direct = await TryCopyDirectAsync(connection, transaction, rows, tenant, cancellationToken).ConfigureAwait(false);
            if (direct == Direct.Copied)
            {
                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                return (rows.ToDictionary(r => (r.Key, r.Completion.Created), _ => Written.Inserted), direct);
            }

            await using var create = new NpgsqlCommand(CreateStages, connection, transaction);
            await create.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await CopyAsync(connection, CompletionStage, CompletionColumns, rows, cancellationToken).ConfigureAwait(false);
        await CopyAsync(connection, ChoiceStage, ChoiceColumns, rows.SelectMany(r => r.Completion.Choices.Select(c => (r, c))), cancellationToken).ConfigureAwait(false);

        var written = new Dictionary<(long, DateTimeOffset), Written>(rows.Count);
        var unverified = new List<(long Key, DateTimeOffset Created, byte[] Hash)>();
        var hashes = rows.ToDictionary(r => (r.Key, r.Completion.Created), r => r.Hash);
        await using (var merge = new NpgsqlCommand(Merge, connection, transaction) { Parameters = { new NpgsqlParameter("tenant", NpgsqlDbType.Text) { Value = tenant } } })
        await using (var reader = await merge.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                var key = (reader.GetInt64(0), reader.GetFieldValue<DateTimeOffset>(1));
                if (reader.GetBoolean(2))
                {
                    written[key] = Written.Inserted;
                }
                else if (reader.IsDBNull(3))
                {
                    // Committed by a concurrent writer after this statement's snapshot: look again below.
                    unverified.Add((key.Item1, key.Item2, hashes[key]));
                }
                else
                {
                    written[key] = reader.GetBoolean(3) ? Written.SameContent : Written.Collision;
                }
            }
        }

        foreach (var (key, created, hash) in unverified)
        {
            await using var check = new NpgsqlCommand($"SELECT content_hash FROM {ChatCompletionConfiguration.TableName} WHERE completion_key = $1 AND created = $2", connection, transaction);
            check.Parameters.Add(new NpgsqlParameter { Value = key });
            check.Parameters.Add(new NpgsqlParameter { Value = created });
            var stored = (byte[]?)await check.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
            written[(key, created)] = stored is not null && stored.AsSpan().SequenceEqual(hash) ? Written.SameContent : Written.Collision;
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return (written, direct);
    }

    internal static async Task CopyAsync<T>(
        NpgsqlConnection connection, string table, Column<T>[] columns, IEnumerable<T> rows, CancellationToken cancellationToken, string? tenant = null)
    {
        var names = string.Join(", ", columns.Select(c => c.Name));
        await using var importer = await connection.BeginBinaryImportAsync(
            $"COPY {table} ({(tenant is null ? names : "tenant, " + names)}) FROM STDIN (FORMAT BINARY)", cancellationToken).ConfigureAwait(false);
        foreach (var row in rows)
        {
            await importer.StartRowAsync(cancellationToken).ConfigureAwait(false);
            if (tenant is not null)
            {
                await importer.WriteAsync(tenant, NpgsqlDbType.Text, cancellationToken).ConfigureAwait(false);
            }

            foreach (var column in columns)
            {
                if (column.Value(row) is { } value)
                {
                    await importer.WriteAsync(value, column.Type, cancellationToken).ConfigureAwait(false);
                }
                else
                {
                    await importer.WriteNullAsync(cancellationToken).ConfigureAwait(false);
                }
            }
        }

        await importer.CompleteAsync(cancellationToken).ConfigureAwait(false);
    }

    // The rows go in key order, as the staged INSERT sorts them, so two writers meeting on the same keys wait for each
    // other instead of deadlocking. A unique violation is a stored key: the savepoint (taken by the caller) undoes the partial COPY.
    private static async Task<Direct> TryCopyDirectAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, IReadOnlyCollection<IRow> rows, string tenant, CancellationToken cancellationToken)
    {
        var ordered = rows.OrderBy(r => r.Key).ThenBy(r => r.Completion.Created).ToList();
        try
        {
            await CopyAsync(connection, ChatCompletionConfiguration.TableName, CompletionColumns, ordered, cancellationToken, tenant).ConfigureAwait(false);
            await CopyAsync(connection, ChatChoiceConfiguration.TableName, ChoiceColumns, ordered.SelectMany(r => r.Completion.Choices.Select(c => (r, c))), cancellationToken, tenant)
                .ConfigureAwait(false);
            return Direct.Copied;
        }
        catch (PostgresException e) when (e.SqlState is PostgresErrorCodes.UniqueViolation or PostgresErrorCodes.DeadlockDetected or PostgresErrorCodes.FeatureNotSupported)
        {
            await transaction.RollbackAsync(DirectSavepoint, cancellationToken).ConfigureAwait(false);
            return e.SqlState == PostgresErrorCodes.FeatureNotSupported ? Direct.Unsupported : Direct.Conflict;
        }
    }

    private static string? Json<T>(T? value)
        where T : class =>
        value is null ? null : WireJson.Serialize(value);

    internal sealed record Column<T>(string Name, NpgsqlDbType Type, Func<T, object?> Value);
}

using System.Data;
using Npgsql;
using NpgsqlTypes;

namespace Storage.Internal;

/// <summary>
/// Writes one batch of validated completions in one transaction. Optimistically, binary COPY straight into the
/// tables, which is as fast as PostgreSQL ingests; if the batch meets a stored key (a replay or a collision) that
/// attempt is rolled back to a savepoint and the batch takes the staged path: binary COPY into session-local
/// staging tables, then one statement that inserts the new completions and the choices of exactly those.
/// The columns are the EF model's (<see cref="BulkColumns"/>); the statements are in <see cref="BulkSql"/>. The staging tables are copies of the tables' columns
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

        ChatCompletionCost? Cost { get; }
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

    // Each column is named by the property it holds; its name, store type and value converter come from the EF model
    // (BulkColumns), which also checks that the list is every column EF writes.
    internal static readonly Column<IRow>[] CompletionColumns = BulkColumns.For<IRow>(
        ChatCompletionConfiguration.TableName,
        (ShadowProperties.CompletionKey, r => r.Key),
        (nameof(ChatCompletion.Created), r => r.Completion.Created),
        (nameof(ChatCompletion.Id), r => r.Completion.Id),
        (nameof(ChatCompletion.ObjectType), r => r.Completion.ObjectType),
        (nameof(ChatCompletion.Model), r => r.Completion.Model),
        (nameof(ChatCompletion.ServiceTier), r => r.Completion.ServiceTier),
        (nameof(ChatCompletion.SystemFingerprint), r => r.Completion.SystemFingerprint),
        (nameof(ChatCompletion.Metadata), r => r.Completion.Metadata),
        (ShadowProperties.ContentHash, r => r.Hash),
        (ShadowProperties.Cost, r => r.Cost?.Usd),
        (ShadowProperties.CostSource, r => CostSources.Name(r.Cost)),
        (ShadowProperties.CostClamped, r => r.Cost?.Clamped ?? false),
        (BulkColumns.Path(nameof(ChatCompletion.Usage), nameof(ChatUsage.PromptTokens)), r => r.Completion.Usage?.PromptTokens),
        (BulkColumns.Path(nameof(ChatCompletion.Usage), nameof(ChatUsage.CompletionTokens)), r => r.Completion.Usage?.CompletionTokens),
        (BulkColumns.Path(nameof(ChatCompletion.Usage), nameof(ChatUsage.TotalTokens)), r => r.Completion.Usage?.TotalTokens),
        (BulkColumns.Path(nameof(ChatCompletion.Usage), nameof(ChatUsage.PromptTokensDetails)), r => r.Completion.Usage?.PromptTokensDetails),
        (BulkColumns.Path(nameof(ChatCompletion.Usage), nameof(ChatUsage.CompletionTokensDetails)), r => r.Completion.Usage?.CompletionTokensDetails),
        (BulkColumns.Path(nameof(ChatCompletion.Usage), nameof(ChatUsage.StoredExtras)), r => r.Completion.Usage?.StoredExtras),
        (nameof(ChatCompletion.StoredExtras), r => r.Completion.StoredExtras),
        (BulkColumns.Path(nameof(ChatCompletion.Call), nameof(ChatCompletionCall.StartedAt)), r => r.Completion.Call?.StartedAt),
        (BulkColumns.Path(nameof(ChatCompletion.Call), nameof(ChatCompletionCall.RequestJson)), r => r.Completion.Call?.RequestJson),
        (BulkColumns.Path(nameof(ChatCompletion.Call), nameof(ChatCompletionCall.Latency)), r => r.Completion.Call?.Latency),
        (BulkColumns.Path(nameof(ChatCompletion.Call), nameof(ChatCompletionCall.TimeToFirstToken)), r => r.Completion.Call?.TimeToFirstToken),
        (BulkColumns.Path(nameof(ChatCompletion.Call), nameof(ChatCompletionCall.TraceId)), r => r.Completion.Call?.TraceId),
        (BulkColumns.Path(nameof(ChatCompletion.Call), nameof(ChatCompletionCall.SpanId)), r => r.Completion.Call?.SpanId));

    internal static readonly Column<(IRow Row, ChatChoice Choice)>[] ChoiceColumns = BulkColumns.For<(IRow Row, ChatChoice Choice)>(
        ChatChoiceConfiguration.TableName,
        (ShadowProperties.CompletionKey, c => c.Row.Key),
        (ShadowProperties.CompletionCreated, c => c.Row.Completion.Created),
        (nameof(ChatChoice.Index), c => c.Choice.Index),
        (nameof(ChatChoice.FinishReason), c => c.Choice.FinishReason),
        (nameof(ChatChoice.Logprobs), c => c.Choice.Logprobs),
        (nameof(ChatChoice.StoredExtras), c => c.Choice.StoredExtras),
        (BulkColumns.Path(nameof(ChatChoice.Message), nameof(ChatCompletionMessage.Role)), c => c.Choice.Message.Role),
        (BulkColumns.Path(nameof(ChatChoice.Message), nameof(ChatCompletionMessage.ContentText)), c => c.Choice.Message.ContentText),
        (BulkColumns.Path(nameof(ChatChoice.Message), nameof(ChatCompletionMessage.ContentParts)), c => c.Choice.Message.ContentParts),
        (BulkColumns.Path(nameof(ChatChoice.Message), nameof(ChatCompletionMessage.Refusal)), c => c.Choice.Message.Refusal),
        (BulkColumns.Path(nameof(ChatChoice.Message), nameof(ChatCompletionMessage.ToolCalls)), c => c.Choice.Message.ToolCalls),
        (BulkColumns.Path(nameof(ChatChoice.Message), nameof(ChatCompletionMessage.FunctionCall)), c => c.Choice.Message.FunctionCall),
        (BulkColumns.Path(nameof(ChatChoice.Message), nameof(ChatCompletionMessage.Audio)), c => c.Choice.Message.Audio),
        (BulkColumns.Path(nameof(ChatChoice.Message), nameof(ChatCompletionMessage.Annotations)), c => c.Choice.Message.Annotations),
        (BulkColumns.Path(nameof(ChatChoice.Message), nameof(ChatCompletionMessage.Reasoning)), c => c.Choice.Message.Reasoning),
        (BulkColumns.Path(nameof(ChatChoice.Message), nameof(ChatCompletionMessage.ReasoningContent)), c => c.Choice.Message.ReasoningContent),
        (BulkColumns.Path(nameof(ChatChoice.Message), nameof(ChatCompletionMessage.StoredExtras)), c => c.Choice.Message.StoredExtras));

    private static readonly string Merge = BulkSql.Merge(CompletionColumns.Select(c => c.Name), ChoiceColumns.Select(c => c.Name));

    public static async Task<(Dictionary<(long Key, DateTimeOffset Created), Written> Written, Direct Direct)> WriteAsync(
        NpgsqlDataSource dataSource, TenantClaim claim, IReadOnlyCollection<IRow> rows, bool tryDirect, CancellationToken cancellationToken)
    {
        var tenant = claim.Tenant;
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        // One round trip before the first COPY: the tenant, and the savepoint or the stages.
        await using (var prepare = new NpgsqlCommand(TenantSql.SetTenant + ";" + (tryDirect ? BulkSql.SaveDirectSavepoint : BulkSql.CreateStages), connection, transaction))
        {
            prepare.Parameters.AddRange(TenantSql.ClaimParameters(claim));
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

            if (connection.FullState != ConnectionState.Open)
            {
                // On Citus the failed COPY leaves the connection unusable (Npgsql breaks it): the batch is staged on another.
                return ((await WriteAsync(dataSource, claim, rows, tryDirect: false, cancellationToken).ConfigureAwait(false)).Written, direct);
            }

            await using var create = new NpgsqlCommand(BulkSql.CreateStages, connection, transaction);
            await create.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await CopyAsync(connection, BulkSql.CompletionStage, CompletionColumns, rows, cancellationToken).ConfigureAwait(false);
        await CopyAsync(connection, BulkSql.ChoiceStage, ChoiceColumns, rows.SelectMany(r => r.Completion.Choices.Select(c => (r, c))), cancellationToken).ConfigureAwait(false);

        var written = new Dictionary<(long, DateTimeOffset), Written>(rows.Count);
        var unverified = new List<(long Key, DateTimeOffset Created, byte[] Hash)>();
        var hashes = rows.ToDictionary(r => (r.Key, r.Completion.Created), r => r.Hash);
        await using (var merge = new NpgsqlCommand(Merge, connection, transaction) { Parameters = { TenantSql.TenantParameter(tenant) } })
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
            await using var check = new NpgsqlCommand(BulkSql.StoredHash, connection, transaction);
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
            BulkSql.Copy(table, tenant is null ? names : "tenant, " + names), cancellationToken).ConfigureAwait(false);
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
    // Citus reports a worker's COPY error, a unique violation included, as an internal error (XX000) with the worker's
    // message: that too falls back to the staged INSERT, which reports any error that is not a stored key.
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
        catch (PostgresException e) when (e.SqlState is PostgresErrorCodes.UniqueViolation or PostgresErrorCodes.DeadlockDetected or PostgresErrorCodes.FeatureNotSupported
            or PostgresErrorCodes.InternalError)
        {
            if (connection.FullState == ConnectionState.Open)
            {
                await transaction.RollbackAsync(BulkSql.DirectSavepoint, cancellationToken).ConfigureAwait(false);
            }

            return e.SqlState == PostgresErrorCodes.FeatureNotSupported ? Direct.Unsupported : Direct.Conflict;
        }
    }

    internal sealed record Column<T>(string Name, NpgsqlDbType Type, Func<T, object?> Value);
}

using Microsoft.EntityFrameworkCore;
using Npgsql;
using Storage.Internal;

namespace Storage.Tests;

/// <summary>
/// The SQL each query sends, captured from EF: containment for metadata, a row-value keyset predicate, a literal LIMIT and never
/// OFFSET, every filter value a parameter (the page size is written into the SQL); and the plans that show the indexes serve them.
/// </summary>
public sealed class QuerySqlTests(MigratedDatabase database) : IClassFixture<MigratedDatabase>, IAsyncLifetime
{
    private const string ModelMarker = "model-marker'; --";
    private const string MetadataMarker = "metadata-marker\"}";

    private static readonly ChatCompletionFilter Filter = new()
    {
        Model = ModelMarker,
        Metadata = new Dictionary<string, string> { ["tenant"] = MetadataMarker },
        CreatedFrom = QueryData.Instant(1),
        CreatedTo = QueryData.Instant(30),
    };

    private readonly QuerySqlLog _log = new();
    private List<SeededCompletion> _seeded = [];

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        if (await database.ScalarAsync("SELECT count(*) FROM chat_completions") == 0)
        {
            _seeded = QueryData.Build("chatcmpl-sql", count: 40, seed: 3);
            await using var store = database.CreateStore();
            await QueryData.SaveAllAsync(store, _seeded);
            await database.ExecuteAsync("ANALYZE chat_completions; ANALYZE chat_completion_choices;");
        }
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    [Theory]
    [InlineData(ChatCompletionOrder.Descending, "DESC", "<")]
    [InlineData(ChatCompletionOrder.Ascending, "", ">")]
    public async Task A_list_page_filters_by_containment_continues_by_keyset_and_limits_without_offset(ChatCompletionOrder order, string direction, string comparison)
    {
        var after = await AnyIdAsync();
        await using var db = _log.CreateContext(database);

        await CompletionQueries.ListAsync(db, Filter, after, 20, order, Token);

        var commands = _log.Take();
        Assert.Equal(2, commands.Count);
        var (cursor, page) = (commands[0], commands[1]);
        Assert.Contains("c.id = @", cursor.Sql, StringComparison.Ordinal);
        Assert.Contains("c.tenant = @", cursor.Sql, StringComparison.Ordinal);
        Assert.Contains("c.tenant = @", page.Sql, StringComparison.Ordinal);
        Assert.Contains("c.model = @", page.Sql, StringComparison.Ordinal);
        Assert.Contains("c.metadata @> @", page.Sql, StringComparison.Ordinal);
        Assert.Contains("c.created >= @", page.Sql, StringComparison.Ordinal);
        Assert.Contains("c.created <= @", page.Sql, StringComparison.Ordinal);
        Assert.Contains($"(c.created, c.completion_key) {comparison} (@", page.Sql, StringComparison.Ordinal);
        Assert.Contains($"ORDER BY c.created{Space(direction)}, c.completion_key{Space(direction)}", page.Sql, StringComparison.Ordinal);
        // The page size is a literal, so PostgreSQL can keep one (generic) plan of the prepared statement.
        Assert.Contains("LIMIT 21", page.Sql, StringComparison.Ordinal);
        Assert.Contains("{\"tenant\":\"metadata-marker\\\"}\"}", page.TextValues);
        AssertParameterized(commands);
    }

    [Fact]
    public async Task A_page_with_some_filters_unset_leaves_their_conditions_out_of_the_sql()
    {
        await using var db = _log.CreateContext(database);

        await CompletionQueries.ListAsync(db, new ChatCompletionFilter { Model = ModelMarker }, null, 20, ChatCompletionOrder.Descending, Token);
        await CompletionQueries.ListAsync(db, null, null, 5, ChatCompletionOrder.Ascending, Token);

        var commands = _log.Take();
        Assert.Equal(2, commands.Count);
        // The compiled page query's conditions on unset filters ("@model IS NULL OR …") are gone, so the index's plan is the same as for a query written for these filters only.
        Assert.All(commands, command => Assert.DoesNotContain("IS NULL", command.Sql, StringComparison.Ordinal));
        Assert.Contains("c.model = @", commands[0].Sql, StringComparison.Ordinal);
        Assert.DoesNotContain("metadata @>", commands[0].Sql, StringComparison.Ordinal);
        Assert.DoesNotContain("c.created >=", commands[0].Sql, StringComparison.Ordinal);
        Assert.DoesNotContain("c.model =", commands[1].Sql, StringComparison.Ordinal);
        Assert.Contains("LIMIT 21", commands[0].Sql, StringComparison.Ordinal);
        Assert.Contains("LIMIT 6", commands[1].Sql, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Get_by_id_reads_the_latest_stored_with_a_literal_limit()
    {
        var id = await AnyIdAsync();
        await using var db = _log.CreateContext(database);

        var row = await CompletionQueries.GetStoredAsync(db, id, Token);

        Assert.Equal(id, row!.Completion.Id);
        Assert.NotEmpty(row.Choices);
        var get = Assert.Single(_log.Take());
        Assert.Contains("c.id = @", get.Sql, StringComparison.Ordinal);
        Assert.Contains("ORDER BY c.stored_at DESC, c.completion_key DESC", get.Sql, StringComparison.Ordinal);
        Assert.Contains("LIMIT 1", get.Sql, StringComparison.Ordinal);
        Assert.True(await UsesIndexAsync(await PlanAsync(get), ChatCompletionConfiguration.IdIndexName));
    }

    [Fact]
    public async Task On_citus_a_page_reads_its_positions_first_then_its_choices_and_rows_by_key()
    {
        var after = await AnyIdAsync();
        await using var db = _log.CreateContext(database);
        db.OnCitus = true;

        await CompletionQueries.ListAsync(db, new ChatCompletionFilter { Model = ModelMarker }, after, 20, ChatCompletionOrder.Descending, Token);
        await CompletionQueries.GetStoredAsync(db, after, Token);

        var commands = _log.Take();
        // The list's cursor and its positions (none: no completion has the marker model, so nothing more); then the
        // get's position, its choices and its row.
        Assert.Equal(5, commands.Count);
        var (page, position, choices, row) = (commands[1], commands[2], commands[3], commands[4]);
        Assert.Contains("LIMIT 21", page.Sql, StringComparison.Ordinal);
        Assert.Contains("LIMIT 1", position.Sql, StringComparison.Ordinal);
        foreach (var limited in new[] { page, position })
        {
            // Each shard answers these with its own ORDER BY and LIMIT: no choices to join.
            Assert.DoesNotContain(ChatChoiceConfiguration.TableName, limited.Sql, StringComparison.Ordinal);
        }

        // Then each table by the distribution key, without a join or a LIMIT, so Citus routes them to the shards that hold the keys.
        Assert.StartsWith("SELECT", choices.Sql, StringComparison.Ordinal);
        Assert.Contains($"FROM {ChatChoiceConfiguration.TableName} AS c", choices.Sql, StringComparison.Ordinal);
        Assert.Contains($"FROM {ChatCompletionConfiguration.TableName} AS c", row.Sql, StringComparison.Ordinal);
        foreach (var byKey in new[] { choices, row })
        {
            Assert.Contains("c.completion_key = ANY (@", byKey.Sql, StringComparison.Ordinal);
            Assert.DoesNotContain("JOIN", byKey.Sql, StringComparison.Ordinal);
            Assert.DoesNotContain("LIMIT", byKey.Sql, StringComparison.Ordinal);
        }

        AssertParameterized(commands);
    }

    [Fact]
    public async Task Plain_postgresql_is_not_taken_for_citus_and_is_asked_once()
    {
        await using var db = _log.CreateContext(database);
        var detection = new CitusDetection();

        Assert.False(await detection.IsCitusAsync(db, Token));
        Assert.Contains("pg_extension", Assert.Single(_log.Take()).Sql, StringComparison.Ordinal);
        // Asked once: the answer is kept.
        Assert.False(await detection.IsCitusAsync(db, Token));
        Assert.Empty(_log.Take());
    }

    [Fact]
    public async Task On_citus_pages_gets_exports_and_usage_read_the_same_completions_as_on_one_node()
    {
        await using var single = _log.CreateContext(database);
        await using var citus = _log.CreateContext(database);
        citus.OnCitus = true;
        ChatCompletionFilter?[] filters =
        [
            null,
            new() { Model = QueryData.Models[1] },
            new() { FinishReason = "stop" },
            new() { Search = QueryData.Phrases[0].Inside },
            new() { HasToolCalls = false },
        ];

        foreach (var filter in filters)
        {
            foreach (var order in new[] { ChatCompletionOrder.Descending, ChatCompletionOrder.Ascending })
            {
                string? after = null;
                do
                {
                    var expected = await CompletionQueries.ListAsync(single, filter, after, 7, order, Token);
                    var actual = await CompletionQueries.ListAsync(citus, filter, after, 7, order, Token);
                    Assert.Equal(Json(expected.Items), Json(actual.Items));
                    Assert.Equal(expected.HasMore, actual.HasMore);
                    Assert.Equal(expected.Costs, actual.Costs);
                    after = expected.HasMore ? expected.LastId : null;
                }
                while (after is not null);
            }

            Assert.Equal(await CompletionQueries.UsageAsync(single, filter, null, Token), await CompletionQueries.UsageAsync(citus, filter, null, Token));
            var exported = await CompletionQueries.ExportBatchAsync(citus, filter, null, 1000, Token);
            Assert.Equal(
                Json((await CompletionQueries.ExportBatchAsync(single, filter, null, 1000, Token)).Select(row => row.ToCompletion())),
                Json(exported.Select(row => row.ToCompletion())));
        }

        var id = await AnyIdAsync();
        Assert.Equal(
            Json((await CompletionQueries.FindStoredAsync(single, id, Token)).Select(row => row.ToCompletion())),
            Json((await CompletionQueries.FindStoredAsync(citus, id, Token)).Select(row => row.ToCompletion())));
        var stored = await CompletionQueries.GetStoredAsync(citus, id, Token);
        Assert.Equal(Json([(await CompletionQueries.GetStoredAsync(single, id, Token))!.ToCompletion()]), Json([stored!.ToCompletion()]));
        Assert.NotEmpty(stored.Choices);
        Assert.Null(await CompletionQueries.GetStoredAsync(citus, "chatcmpl-none", Token));
        _log.Take();

        static List<string> Json(IEnumerable<ChatCompletion> completions) => completions.Select(ChatCompletionJson.Serialize).ToList();
    }

    [Fact]
    public async Task An_export_batch_continues_by_keyset_with_a_limit()
    {
        await using var db = _log.CreateContext(database);

        await CompletionQueries.ExportBatchAsync(db, Filter, new CompletionQueries.KeysetPosition(QueryData.Instant(2), 42), 250, Token);

        var batch = Assert.Single(_log.Take());
        Assert.Contains("(c.created, c.completion_key) > (@", batch.Sql, StringComparison.Ordinal);
        Assert.Contains("c.metadata @> @", batch.Sql, StringComparison.Ordinal);
        Assert.Contains("ORDER BY c.created, c.completion_key", batch.Sql, StringComparison.Ordinal);
        Assert.Contains("LIMIT 250", batch.Sql, StringComparison.Ordinal);
        AssertParameterized([batch]);
    }

    [Fact]
    public async Task A_retention_batch_deletes_by_primary_key_through_a_limited_subquery()
    {
        await using var db = _log.CreateContext(database);

        var deleted = await CompletionQueries.DeleteBatchAsync(db, QueryData.Instant(20), Filter, 1000, Token);

        var delete = Assert.Single(_log.Take());
        Assert.Equal(0, deleted);
        Assert.StartsWith("DELETE FROM chat_completions AS c", delete.Sql, StringComparison.Ordinal);
        Assert.Contains("c0.metadata @> @", delete.Sql, StringComparison.Ordinal);
        Assert.Contains("c0.created < @", delete.Sql, StringComparison.Ordinal);
        Assert.Contains("ORDER BY c0.created, c0.completion_key", delete.Sql, StringComparison.Ordinal);
        Assert.Contains("LIMIT @", delete.Sql, StringComparison.Ordinal);
        Assert.Contains("c1.completion_key = c.completion_key AND c1.created = c.created", delete.Sql, StringComparison.Ordinal);
        Assert.Contains(1000, delete.Parameters.Select(p => p.Value));
        AssertParameterized([delete]);
    }

    [Fact]
    public async Task A_metadata_update_compares_xmin_in_the_update_itself()
    {
        await using var store = database.CreateStore();
        var read = await store.GetWithVersionAsync(await AnyIdAsync(), Token);
        await using var db = _log.CreateContext(database);

        await db.Database.CreateExecutionStrategy().ExecuteAsync(() =>
            CompletionQueries.UpdateMetadataAsync(db, read!.Completion.Id, new Dictionary<string, string> { ["tenant"] = MetadataMarker }, read.Version, Token));

        var update = Assert.Single(_log.Take(), c => c.Sql.StartsWith("UPDATE", StringComparison.Ordinal));
        Assert.Contains("SET metadata = @", update.Sql, StringComparison.Ordinal);
        Assert.Contains("c.xmin = @", update.Sql, StringComparison.Ordinal);
        Assert.DoesNotContain("content_hash", update.Sql, StringComparison.Ordinal);
        AssertParameterized([update]);
    }

    [Fact]
    public async Task Usage_totals_are_summed_and_grouped_in_sql_with_every_value_a_parameter()
    {
        await using var db = _log.CreateContext(database);

        await CompletionQueries.UsageAsync(db, Filter, new ChatCompletionUsageGrouping { ByModel = true, ByDay = true, ByMetadataKey = MetadataMarker }, Token);

        var usage = Assert.Single(_log.Take());
        Assert.Contains("c.metadata @> @metadata", usage.Sql, StringComparison.Ordinal);
        Assert.Contains("c.metadata ->> @group_key", usage.Sql, StringComparison.Ordinal);
        Assert.Contains("c.tenant = @tenant", usage.Sql, StringComparison.Ordinal);
        Assert.Contains("coalesce(c.usage_prompt_tokens, 0)", usage.Sql, StringComparison.Ordinal);
        Assert.Contains("sum(u.prompt_tokens)", usage.Sql, StringComparison.Ordinal);
        Assert.Contains("GROUP BY 1, 2, 3", usage.Sql, StringComparison.Ordinal);
        AssertParameterized([usage]);
    }

    [Theory]
    [InlineData("none", ChatCompletionOrder.Descending, ChatCompletionConfiguration.CreatedIndexName)]
    [InlineData("none", ChatCompletionOrder.Ascending, ChatCompletionConfiguration.CreatedIndexName)]
    [InlineData("model", ChatCompletionOrder.Descending, ChatCompletionConfiguration.ModelCreatedIndexName)]
    [InlineData("model", ChatCompletionOrder.Ascending, ChatCompletionConfiguration.ModelCreatedIndexName)]
    public async Task The_keyset_indexes_serve_list_pages(string filterName, ChatCompletionOrder order, string index)
    {
        var filter = filterName == "model" ? new ChatCompletionFilter { Model = QueryData.Models[0] } : null;
        var after = await AnyIdAsync();
        await using var db = _log.CreateContext(database);
        await CompletionQueries.ListAsync(db, filter, after, 20, order, Token);
        var commands = _log.Take();

        var cursorPlan = await PlanAsync(commands[0]);
        Assert.True(await UsesIndexAsync(cursorPlan, ChatCompletionConfiguration.IdIndexName), cursorPlan);
        var plan = await PlanAsync(commands[1]);
        Assert.True(await UsesIndexAsync(plan, index), plan);
        // The keyset predicate is an index condition, not a filter applied to rows already read.
        Assert.Matches(@"Index Cond: .*ROW\(created, completion_key\) [<>]", plan);
    }

    [Fact]
    public async Task The_gin_index_serves_metadata_containment()
    {
        var filter = new ChatCompletionFilter { Metadata = new Dictionary<string, string> { ["tenant"] = "acme", ["env"] = "prod" } };
        await using var db = _log.CreateContext(database);
        await CompletionQueries.ListAsync(db, filter, null, 20, ChatCompletionOrder.Descending, Token);

        // Which index wins for a metadata filter depends on its selectivity; with the btree indexes out of the way (dropped
        // in the transaction that the plan rolls back), the plan shows that the containment can use the GIN index.
        var plan = await PlanAsync(
            Assert.Single(_log.Take()),
            $"DROP INDEX {ChatCompletionConfiguration.CreatedIndexName}",
            $"DROP INDEX {ChatCompletionConfiguration.ModelCreatedIndexName}",
            $"DROP INDEX {ChatCompletionConfiguration.IdIndexName}");

        Assert.True(await UsesIndexAsync(plan, "ix_chat_completions_metadata", "Bitmap Index Scan on "), plan);
        Assert.Contains("Index Cond: (metadata @> ", plan, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_created_index_serves_retention_batches()
    {
        await using var db = _log.CreateContext(database);
        await CompletionQueries.DeleteBatchAsync(db, QueryData.Instant(-1), null, 1000, Token);

        var plan = await PlanAsync(Assert.Single(_log.Take()));
        Assert.True(await UsesIndexAsync(plan, ChatCompletionConfiguration.CreatedIndexName), plan);
    }

    // Both tables are partitioned: a plan names the partitions' own indexes, each a partition of the model's index.
    private async Task<bool> UsesIndexAsync(string plan, string index, string prefix = "")
    {
        await using var command = database.DataSource.CreateCommand(
            "SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = to_regclass($1) UNION ALL SELECT $1");
        command.Parameters.Add(new NpgsqlParameter { Value = index });
        var names = new List<string>();
        await using (var reader = await command.ExecuteReaderAsync(Token))
        {
            while (await reader.ReadAsync(Token))
            {
                names.Add(reader.GetString(0));
            }
        }

        return names.Any(name => plan.Contains(prefix + name + " ", StringComparison.Ordinal));
    }

    private static string Space(string direction) => direction.Length == 0 ? "" : " " + direction;

    private static void AssertParameterized(IEnumerable<QueryCommand> commands)
    {
        foreach (var command in commands)
        {
            Assert.DoesNotContain("OFFSET", command.Sql, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("marker", command.Sql, StringComparison.Ordinal);
            Assert.DoesNotContain("'acme'", command.Sql, StringComparison.Ordinal);
        }
    }

    private async Task<string> AnyIdAsync()
    {
        await using var command = database.DataSource.CreateCommand("SELECT id FROM chat_completions ORDER BY created, completion_key OFFSET 10 LIMIT 1");
        return (string)(await command.ExecuteScalarAsync(Token))!;
    }

    // EXPLAIN of the captured statement with its parameters, sequential scans discouraged: on a table this small the
    // planner would otherwise read it whole, which says nothing about the plan on a large one. Statements to run first
    // (in the same transaction, rolled back) can change the setting further.
    private async Task<string> PlanAsync(QueryCommand captured, params string[] before)
    {
        await using var connection = await database.DataSource.OpenConnectionAsync(Token);
        await using var transaction = await connection.BeginTransactionAsync(Token);
        foreach (var statement in before.Prepend("SET LOCAL enable_seqscan = off"))
        {
            await using var setup = new NpgsqlCommand(statement, connection, transaction);
            await setup.ExecuteNonQueryAsync(Token);
        }

        await using var explain = new NpgsqlCommand("EXPLAIN " + captured.Sql, connection, transaction);
        explain.Parameters.AddRange(captured.Parameters.Select(p => p.Clone()).ToArray());
        var lines = new List<string>();
        await using (var reader = await explain.ExecuteReaderAsync(Token))
        {
            while (await reader.ReadAsync(Token))
            {
                lines.Add(reader.GetString(0));
            }
        }

        await transaction.RollbackAsync(Token);
        return string.Join('\n', lines);
    }
}

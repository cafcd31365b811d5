using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;
using Npgsql;
using Storage.Internal;
using Storage.Migrations;

namespace Storage.Tests;

/// <summary>The index migrations (QueryIndexes, TenantIndexes), including the documented path for a large live table.</summary>
public sealed class QueryIndexMigrationTests(PostgresFixture postgres)
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Indexes_built_concurrently_beforehand_are_kept_and_the_migration_only_records_itself()
    {
        var name = $"storage_indexes_{Guid.NewGuid():N}";
        try
        {
            await using var dataSource = NpgsqlDataSource.Create(await postgres.Server.CreateDatabaseAsync(name, Token));
            await using (var db = new ChatCompletionDbContext(StorageModel.Configure(new DbContextOptionsBuilder<ChatCompletionDbContext>(), dataSource).Options))
            {
                await db.GetService<IMigrator>().MigrateAsync("20261125073515_TenantsCallsAndUsageRollup", cancellationToken: Token);
            }

            // What the migration's remarks tell an operator to run first, each statement on its own (autocommit).
            foreach (var sql in new[]
            {
                "CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_chat_completions_tenant_id ON chat_completions (tenant, id)",
                "CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_chat_completions_tenant_created_completion_key ON chat_completions (tenant, created, completion_key)",
                "CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_chat_completions_tenant_model_created_completion_key ON chat_completions (tenant, model, created, completion_key)",
            })
            {
                await using var command = dataSource.CreateCommand(sql);
                await command.ExecuteNonQueryAsync(Token);
            }

            var before = await IndexOidsAsync(dataSource);
            await StorageMigrator.MigrateAsync(dataSource, Token);
            await using (var script = dataSource.CreateCommand(StorageMigrator.GenerateIdempotentScript()))
            {
                await script.ExecuteNonQueryAsync(Token);
            }

            Assert.Equal(before, await IndexOidsAsync(dataSource));
            Assert.Equal(
                [
                    "CREATE INDEX ix_chat_completions_tenant_created_completion_key ON public.chat_completions USING btree (tenant, created, completion_key)",
                    "CREATE INDEX ix_chat_completions_tenant_id ON public.chat_completions USING btree (tenant, id)",
                    "CREATE INDEX ix_chat_completions_tenant_model_created_completion_key ON public.chat_completions USING btree (tenant, model, created, completion_key)",
                ],
                await DefinitionsAsync(dataSource));
        }
        finally
        {
            NpgsqlConnection.ClearAllPools();
            await postgres.Server.DropDatabaseAsync(name, CancellationToken.None);
        }
    }

    private static async Task<List<string>> DefinitionsAsync(NpgsqlDataSource dataSource) =>
        await ReadAsync(dataSource, "SELECT indexdef FROM pg_indexes WHERE indexname LIKE 'ix_chat_completions_tenant_%' ORDER BY indexname");

    private static async Task<List<string>> IndexOidsAsync(NpgsqlDataSource dataSource) =>
        await ReadAsync(dataSource, "SELECT indexrelid::text FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname LIKE 'ix_chat_completions_tenant_%' ORDER BY c.relname");

    private static async Task<List<string>> ReadAsync(NpgsqlDataSource dataSource, string sql)
    {
        await using var command = dataSource.CreateCommand(sql);
        await using var reader = await command.ExecuteReaderAsync(Token);
        var values = new List<string>();
        while (await reader.ReadAsync(Token))
        {
            values.Add(reader.GetString(0));
        }

        return values;
    }
}

using Npgsql;
using Storage.Migrations;

namespace Storage.Tests;

public sealed class MigrationTests(PostgresFixture postgres)
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task The_idempotent_script_applies_twice_to_an_empty_database_and_over_migrate()
    {
        // CI passes the script that `dotnet ef migrations script --idempotent` wrote; elsewhere the same generator runs in-process.
        var path = Environment.GetEnvironmentVariable("STORAGE_IDEMPOTENT_SCRIPT");
        var script = string.IsNullOrEmpty(path) ? StorageMigrator.GenerateIdempotentScript() : await File.ReadAllTextAsync(path, Token);
        var empty = $"storage_script_{Guid.NewGuid():N}";
        var migrated = $"storage_script_{Guid.NewGuid():N}";
        try
        {
            await using var emptySource = NpgsqlDataSource.Create(await postgres.Server.CreateDatabaseAsync(empty, Token));
            await using var migratedSource = NpgsqlDataSource.Create(await postgres.Server.CreateDatabaseAsync(migrated, Token));
            await StorageMigrator.MigrateAsync(migratedSource, Token);

            foreach (var source in new[] { emptySource, emptySource, migratedSource })
            {
                await using var command = source.CreateCommand(script);
                await command.ExecuteNonQueryAsync(Token);
            }

            await using var count = emptySource.CreateCommand("SELECT count(*) FROM \"__EFMigrationsHistory\"");
            Assert.True((long)(await count.ExecuteScalarAsync(Token))! >= 1);
        }
        finally
        {
            NpgsqlConnection.ClearAllPools();
            await postgres.Server.DropDatabaseAsync(empty, CancellationToken.None);
            await postgres.Server.DropDatabaseAsync(migrated, CancellationToken.None);
        }
    }
}

public sealed class SchemaTests(MigratedDatabase database) : IClassFixture<MigratedDatabase>
{
    [Theory]
    [InlineData("pk_chat_completions", "PRIMARY KEY (completion_key, created)")]
    [InlineData("pk_chat_completion_choices", "PRIMARY KEY (completion_key, created, index)")]
    [InlineData("fk_chat_completion_choices_chat_completions", "REFERENCES chat_completions(completion_key, created) ON DELETE CASCADE")]
    public async Task The_keys_carry_created_so_the_tables_can_be_partitioned_by_it(string constraint, string definition)
    {
        await using var command = database.DataSource.CreateCommand("SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = constraint });

        var actual = (string?)await command.ExecuteScalarAsync(TestContext.Current.CancellationToken);

        Assert.NotNull(actual);
        Assert.Contains(definition, actual, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Metadata_has_a_gin_index()
    {
        await using var command = database.DataSource.CreateCommand("SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_chat_completions_metadata'");

        var definition = (string?)await command.ExecuteScalarAsync(TestContext.Current.CancellationToken);

        Assert.Equal("CREATE INDEX ix_chat_completions_metadata ON ONLY public.chat_completions USING gin (metadata jsonb_path_ops)", definition);
    }
}

public sealed class StatisticsTests(MigratedDatabase database) : IClassFixture<MigratedDatabase>
{
    [Fact]
    public async Task Metadata_is_sampled_finely_enough_for_the_planner_to_estimate_rare_pairs()
    {
        Assert.Equal(1000, await database.ScalarAsync(
            "SELECT attstattarget FROM pg_attribute WHERE attrelid = 'chat_completions'::regclass AND attname = 'metadata'"));
    }
}

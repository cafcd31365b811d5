using Npgsql;
using Storage.Migrations;

namespace Storage.Tests;

/// <summary>
/// The two roles of the README: an owner that applies migrations, and an application role that reads and
/// writes rows and can do nothing else. The SQL here is the README's, with per-run names.
/// </summary>
public sealed class LeastPrivilegeTests(PostgresFixture postgres)
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task The_application_role_reads_and_writes_rows_but_is_refused_ddl()
    {
        var suffix = Guid.NewGuid().ToString("N")[..8];
        var (owner, app, database) = ($"storage_owner_{suffix}", $"storage_app_{suffix}", $"storage_roles_{suffix}");
        var password = Guid.NewGuid().ToString("N");
        await using var server = NpgsqlDataSource.Create(postgres.Server.ConnectionString);
        try
        {
            await ExecuteAsync(server, $"CREATE ROLE {owner} LOGIN PASSWORD '{password}'", $"CREATE ROLE {app} LOGIN PASSWORD '{password}'", $"CREATE DATABASE {database} OWNER {owner}");
            var admin = new NpgsqlConnectionStringBuilder(postgres.Server.ConnectionString) { Database = database };
            await using (var setup = NpgsqlDataSource.Create(admin.ConnectionString))
            {
                // PostgreSQL 15 no longer lets PUBLIC create in schema public; the owner gets it explicitly.
                await ExecuteAsync(setup, $"ALTER SCHEMA public OWNER TO {owner}", $"GRANT USAGE ON SCHEMA public TO {app}");
            }

            await using (var ownerSource = NpgsqlDataSource.Create(As(owner, password, database)))
            {
                await ExecuteAsync(ownerSource, $"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {app}");
                await StorageMigrator.MigrateAsync(ownerSource, Token);
            }

            await using var appSource = NpgsqlDataSource.Create(As(app, password, database));
            await using var store = new ChatCompletionStore(appSource);
            var completion = Samples.Completion();
            Assert.Equal(SaveOutcome.Stored, await store.SaveAsync(completion, Token));
            Assert.Equal(SaveOutcome.Stored, (await store.SaveManyAsync([Samples.Completion()], Token).SingleAsync(Token)).Outcome);
            var read = await store.GetWithVersionAsync(completion.Id, Token);
            await store.UpdateMetadataAsync(completion.Id, new Dictionary<string, string> { ["tenant"] = "globex" }, read!.Version, Token);
            Assert.NotEmpty((await store.ListAsync(cancellationToken: Token)).Items);
            Assert.True(await store.DeleteAsync(completion.Id, Token));

            foreach (var ddl in new[] { "CREATE TABLE intruder (x int)", "DROP TABLE chat_completion_choices", "ALTER TABLE chat_completions ADD COLUMN x int", "TRUNCATE chat_completions" })
            {
                var refused = await Assert.ThrowsAsync<PostgresException>(() => ExecuteAsync(appSource, ddl));
                Assert.Equal(PostgresErrorCodes.InsufficientPrivilege, refused.SqlState);
            }
        }
        finally
        {
            NpgsqlConnection.ClearAllPools();
            await ExecuteAsync(server, $"DROP DATABASE IF EXISTS {database} WITH (FORCE)", $"DROP ROLE IF EXISTS {app}", $"DROP ROLE IF EXISTS {owner}");
        }
    }

    private string As(string role, string password, string database) =>
        new NpgsqlConnectionStringBuilder(postgres.Server.ConnectionString) { Username = role, Password = password, Database = database }.ConnectionString;

    private static async Task ExecuteAsync(NpgsqlDataSource dataSource, params string[] statements)
    {
        foreach (var sql in statements)
        {
            await using var command = dataSource.CreateCommand(sql);
            await command.ExecuteNonQueryAsync(Token);
        }
    }
}

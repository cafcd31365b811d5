using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;
using Npgsql;
using Storage.Internal;

namespace Storage.Migrations;

/// <summary>
/// Applies the store's migrations from code, for tests, tools and development. In production prefer the
/// idempotent script (<c>dotnet ef migrations script --idempotent</c>) or a migrations bundle, run by a
/// role that owns the schema.
/// </summary>
public static class StorageMigrator
{
    /// <summary>The connection string of the PostgreSQL that <c>docker compose up -d</c> starts.</summary>
    public const string DefaultConnectionString = "Host=localhost;Port=5432;Database=storage;Username=storage;Password=storage";

    /// <summary>Applies every pending migration to the database the data source points at.</summary>
    public static async Task MigrateAsync(NpgsqlDataSource dataSource, CancellationToken cancellationToken = default)
    {
        await using var db = CreateContext(dataSource);
        await db.Database.CreateExecutionStrategy()
            .ExecuteAsync(db, static (context, token) => context.Database.MigrateAsync(token), cancellationToken)
            .ConfigureAwait(false);
    }

    /// <summary>Applies every pending migration to the database of a connection string.</summary>
    public static async Task MigrateAsync(string connectionString, CancellationToken cancellationToken = default)
    {
        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        await MigrateAsync(dataSource, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Distributes the migrated schema over a Citus cluster: run on the coordinator, after <see cref="MigrateAsync(NpgsqlDataSource, CancellationToken)"/>,
    /// once the workers have been added (<c>citus_add_node</c>). The completions, their choices and the usage deltas are
    /// sharded by <c>completion_key</c> and co-located; the usage rollup is kept by row triggers instead of statement
    /// triggers (see the README's "Distributed (Citus)"). Idempotent: on a schema already distributed it only refreshes
    /// the functions, triggers and views. All of it runs in one transaction.
    /// </summary>
    /// <param name="dataSource">The coordinator's database, with the <c>citus</c> extension created in it.</param>
    /// <param name="shardCount">Shards per table; <c>null</c> for the cluster's <c>citus.shard_count</c> (32 unless set).</param>
    /// <param name="cancellationToken">Cancels the work; nothing is changed then.</param>
    /// <returns><see langword="true"/> when this call distributed the tables, <see langword="false"/> when they already were.</returns>
    /// <exception cref="InvalidOperationException">The database has no <c>citus</c> extension, or has not been migrated.</exception>
    public static async Task<bool> DistributeOnCitusAsync(NpgsqlDataSource dataSource, int? shardCount = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        if (shardCount is < 1 or > 64_000)
        {
            throw new ArgumentOutOfRangeException(nameof(shardCount), shardCount, "shardCount must be from 1 to 64000.");
        }

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        bool hasCitus, migrated;
        await using (var state = new NpgsqlCommand(Sql.CitusSql.State, connection))
        await using (var reader = await state.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            (hasCitus, migrated) = (reader.GetBoolean(0), reader.GetBoolean(1));
        }

        if (!hasCitus)
        {
            throw new InvalidOperationException("The database has no citus extension: run CREATE EXTENSION citus on the coordinator and add the workers first.");
        }

        if (!migrated)
        {
            throw new InvalidOperationException("The schema has no chat_completions table: apply the migrations first.");
        }

        bool distributed;
        await using (var check = new NpgsqlCommand(Sql.CitusSql.Distributed, connection))
        {
            distributed = (bool)(await check.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
        }

        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        var statements = new List<string> { Sql.CitusSql.Settings };
        if (!distributed)
        {
            statements.AddRange(Sql.CitusSql.Distribute(shardCount));
        }

        statements.AddRange(Sql.CitusSql.Objects);
        foreach (var sql in statements)
        {
            await using var command = new NpgsqlCommand(sql, connection, transaction);
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return !distributed;
    }

    /// <summary>The SQL of every migration as an idempotent script: what <c>dotnet ef migrations script --idempotent</c> prints.</summary>
    public static string GenerateIdempotentScript()
    {
        using var dataSource = NpgsqlDataSource.Create(DefaultConnectionString);
        using var db = CreateContext(dataSource);
        return db.Database.GetService<IMigrator>().GenerateScript(options: MigrationsSqlGenerationOptions.Idempotent);
    }

    private static ChatCompletionDbContext CreateContext(NpgsqlDataSource dataSource) =>
        new(StorageModel.Configure(new DbContextOptionsBuilder<ChatCompletionDbContext>(), dataSource).Options);
}

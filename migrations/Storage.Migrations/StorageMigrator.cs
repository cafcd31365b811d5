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

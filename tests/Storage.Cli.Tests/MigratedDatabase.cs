using Npgsql;
using Storage.Migrations;

namespace Storage.Cli.Tests;

/// <summary>A database of its own for one test class, created by applying the real migrations.</summary>
public sealed class MigratedDatabase(PostgresFixture postgres) : IAsyncLifetime
{
    private readonly string _name = $"storage_cli_test_{Guid.NewGuid():N}";

    public string ConnectionString { get; private set; } = "";

    public async ValueTask InitializeAsync()
    {
        var token = TestContext.Current.CancellationToken;
        ConnectionString = await postgres.Server.CreateDatabaseAsync(_name, token);
        await StorageMigrator.MigrateAsync(ConnectionString, token);
    }

    /// <summary>Runs the tool in-process against this database.</summary>
    public Task<CliResult> RunAsync(params string[] args) => Cli.RunAsync(ConnectionString, "", args);

    /// <summary>Runs the tool in-process against this database, with <paramref name="stdin"/> as its standard input.</summary>
    public Task<CliResult> RunWithInputAsync(string stdin, params string[] args) => Cli.RunAsync(ConnectionString, stdin, args);

    /// <summary>Runs the tool in-process against this database, with <paramref name="stdin"/>'s bytes as its standard input.</summary>
    public Task<CliResult> RunWithInputAsync(byte[] stdin, params string[] args) => Cli.RunAsync(ConnectionString, stdin, args);

    public async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        await postgres.Server.DropDatabaseAsync(_name, CancellationToken.None);
    }
}

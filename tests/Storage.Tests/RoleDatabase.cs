using Npgsql;
using Storage.Migrations;

namespace Storage.Tests;

/// <summary>
/// A database set up with the README's two roles: an owner that applies the migrations, and an application role that
/// may only read and write rows (and so is bound by row-level security once a test turns it on). Dropped with its roles
/// on dispose.
/// </summary>
public sealed class RoleDatabase : IAsyncDisposable
{
    private readonly NpgsqlDataSource _server;
    private readonly string _owner;
    private readonly string _app;
    private readonly string _database;

    private RoleDatabase(NpgsqlDataSource server, string serverConnectionString, string suffix, string password)
    {
        _server = server;
        (_owner, _app, _database) = ($"storage_owner_{suffix}", $"storage_app_{suffix}", $"storage_roles_{suffix}");
        OwnerConnectionString = As(serverConnectionString, _owner, password);
        AppConnectionString = As(serverConnectionString, _app, password);
        AdminConnectionString = new NpgsqlConnectionStringBuilder(serverConnectionString) { Database = _database }.ConnectionString;
    }

    public string OwnerConnectionString { get; }

    public string AppConnectionString { get; }

    /// <summary>The superuser of the test server on this database: bypasses row-level security, to see every row.</summary>
    public string AdminConnectionString { get; }

    public static async Task<RoleDatabase> CreateAsync(PostgresFixture postgres, CancellationToken cancellationToken)
    {
        var server = NpgsqlDataSource.Create(postgres.Server.ConnectionString);
        var roles = new RoleDatabase(server, postgres.Server.ConnectionString, Guid.NewGuid().ToString("N")[..8], Guid.NewGuid().ToString("N"));
        try
        {
            await roles.SetUpAsync(cancellationToken);
            return roles;
        }
        catch
        {
            await roles.DisposeAsync();
            throw;
        }
    }

    public static async Task ExecuteAsync(NpgsqlDataSource dataSource, CancellationToken cancellationToken, params string[] statements)
    {
        foreach (var sql in statements)
        {
            await using var command = dataSource.CreateCommand(sql);
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
    }

    /// <summary>Turns row-level security on, as a multi-tenant deployment does once, as the owner.</summary>
    public async Task EnableRowLevelSecurityAsync(CancellationToken cancellationToken)
    {
        await using var owner = NpgsqlDataSource.Create(OwnerConnectionString);
        await ExecuteAsync(owner, cancellationToken, "SELECT storage_set_row_level_security(true)");
    }

    /// <summary>Installs the key that tenant claims must be signed with, as the owner.</summary>
    public async Task InstallTenantKeyAsync(byte[] key, CancellationToken cancellationToken)
    {
        await using var owner = NpgsqlDataSource.Create(OwnerConnectionString);
        await using var command = owner.CreateCommand("SELECT storage_set_tenant_key($1)");
        command.Parameters.Add(new NpgsqlParameter { Value = key });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        await ExecuteAsync(_server, CancellationToken.None, $"DROP DATABASE IF EXISTS {_database} WITH (FORCE)", $"DROP ROLE IF EXISTS {_app}", $"DROP ROLE IF EXISTS {_owner}");
        await _server.DisposeAsync();
    }

    private async Task SetUpAsync(CancellationToken cancellationToken)
    {
        var password = new NpgsqlConnectionStringBuilder(OwnerConnectionString).Password;
        await ExecuteAsync(_server, cancellationToken, $"CREATE ROLE {_owner} LOGIN PASSWORD '{password}'", $"CREATE ROLE {_app} LOGIN PASSWORD '{password}'", $"CREATE DATABASE {_database} OWNER {_owner}");
        await using (var setup = NpgsqlDataSource.Create(AdminConnectionString))
        {
            // PostgreSQL 15 no longer lets PUBLIC create in schema public; the owner gets it explicitly.
            await ExecuteAsync(setup, cancellationToken, $"ALTER SCHEMA public OWNER TO {_owner}", $"GRANT USAGE ON SCHEMA public TO {_app}");
        }

        await using var owner = NpgsqlDataSource.Create(OwnerConnectionString);
        await ExecuteAsync(owner, cancellationToken, $"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {_app}");
        await StorageMigrator.MigrateAsync(owner, cancellationToken);
    }

    private string As(string serverConnectionString, string role, string password) =>
        new NpgsqlConnectionStringBuilder(serverConnectionString) { Username = role, Password = password, Database = _database }.ConnectionString;
}

using System.Security.Cryptography;
using Npgsql;

namespace Storage.Citus.Tests;

/// <summary>
/// A schema of its own for row-level security on Citus, set up as the README's two roles: the superuser applies the
/// migrations and distributes, and a least-privilege role (created here, on every node by Citus's role propagation) gets
/// row privileges through default privileges. Row-level security is on and a signing key is installed. Dropped with its
/// role at the end.
/// </summary>
public sealed class CitusRoleSchema : IAsyncLifetime
{
    private readonly string _role = $"storage_citus_app_{Guid.NewGuid():N}"[..32];
    private readonly CitusSchema _schema;
    private NpgsqlDataSource? _app;

    public CitusRoleSchema() =>
        _schema = new CitusSchema(name =>
        [
            $"CREATE ROLE {_role} LOGIN",
            $"GRANT USAGE ON SCHEMA {name} TO {_role}",
            $"ALTER DEFAULT PRIVILEGES IN SCHEMA {name} GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {_role}",
        ]);

    /// <summary>The key the tenant claims are signed with.</summary>
    public byte[] Key { get; } = RandomNumberGenerator.GetBytes(32);

    /// <summary>The superuser's schema: bypasses row-level security, to see every row.</summary>
    public CitusSchema Admin => _schema;

    /// <summary>Connections as the least-privilege role, bound by row-level security.</summary>
    public NpgsqlDataSource App => _app ?? throw new InvalidOperationException("The schema has not been created.");

    public ChatCompletionStore CreateAppStore(byte[]? key) => new(App, new ChatCompletionStoreOptions { TenantSigningKey = key });

    public async ValueTask InitializeAsync()
    {
        await _schema.InitializeAsync();
        await _schema.ScalarAsync<string>("SELECT storage_set_row_level_security(true)::text");
        await _schema.ScalarAsync<string>("SELECT storage_set_tenant_key($1)::text", Key);
        _app = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(_schema.ConnectionString) { Username = _role }.ConnectionString);
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }

        NpgsqlConnection.ClearAllPools();
        await _schema.DisposeAsync();
        if (_schema.Coordinator.Length > 0)
        {
            await using var admin = NpgsqlDataSource.Create(_schema.Coordinator);
            await using var drop = admin.CreateCommand($"DROP ROLE IF EXISTS {_role}");
            await drop.ExecuteNonQueryAsync(CancellationToken.None);
        }
    }
}

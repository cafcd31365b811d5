using Npgsql;
using Storage.Migrations;

namespace Storage.Tests;

/// <summary>
/// A primary cluster and a streaming standby of it, both started by the tests from the installed binaries (the standby by
/// pg_basebackup -R from the primary), with a migrated database that the standby replicates; removed at the end.
/// </summary>
public sealed class ReplicaClusters : IAsyncLifetime
{
    private const string DatabaseName = "storage_replica";

    private PostgresServer? _primary;
    private PostgresServer? _standby;

    public PostgresServer Primary => _primary ?? throw new InvalidOperationException("The clusters have not started.");

    public PostgresServer Standby => _standby ?? throw new InvalidOperationException("The clusters have not started.");

    /// <summary>A superuser connection string to the primary's test database.</summary>
    public string PrimaryConnectionString { get; private set; } = "";

    /// <summary>A superuser connection string to the same database on the standby.</summary>
    public string StandbyConnectionString { get; private set; } = "";

    public async ValueTask InitializeAsync()
    {
        using var box = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        box.CancelAfter(TimeSpan.FromSeconds(120));
        _primary = await PostgresServer.StartLocalClusterAsync(durable: false, box.Token);
        PrimaryConnectionString = await _primary.CreateDatabaseAsync(DatabaseName, box.Token);
        await using (var dataSource = NpgsqlDataSource.Create(PrimaryConnectionString))
        {
            await StorageMigrator.MigrateAsync(dataSource, box.Token);
        }

        _standby = await _primary.StartStandbyAsync(box.Token);
        StandbyConnectionString = OnDatabase(_standby.ConnectionString);
    }

    /// <summary>Another standby of the primary, for a test that stops it.</summary>
    public async Task<(PostgresServer Server, string ConnectionString)> StartOtherStandbyAsync(CancellationToken cancellationToken)
    {
        var standby = await Primary.StartStandbyAsync(cancellationToken);
        return (standby, OnDatabase(standby.ConnectionString));
    }

    public async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        if (_standby is not null)
        {
            await _standby.DisposeAsync();
        }

        if (_primary is not null)
        {
            await _primary.DisposeAsync();
        }
    }

    private static string OnDatabase(string connectionString) =>
        new NpgsqlConnectionStringBuilder(connectionString) { Database = DatabaseName }.ConnectionString;
}

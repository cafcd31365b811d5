using Npgsql;
using Storage.Migrations;
using Xunit;

namespace Storage.Tests.Support;

/// <summary>A database of its own for one test class, created by applying the real migrations (never EnsureCreated).</summary>
public sealed class MigratedDatabase(PostgresFixture postgres) : IAsyncLifetime
{
    private readonly string _name = $"storage_test_{Guid.NewGuid():N}";
    private NpgsqlDataSource? _dataSource;

    public string ConnectionString { get; private set; } = "";

    public NpgsqlDataSource DataSource => _dataSource ?? throw new InvalidOperationException("The database has not been created.");

    public async ValueTask InitializeAsync()
    {
        var token = TestContext.Current.CancellationToken;
        ConnectionString = await postgres.Server.CreateDatabaseAsync(_name, token);
        _dataSource = NpgsqlDataSource.Create(ConnectionString);
        await StorageMigrator.MigrateAsync(_dataSource, token);
    }

    public ChatCompletionStore CreateStore(ChatCompletionStoreOptions? options = null) => new(DataSource, options);

    public async Task<long> ScalarAsync(string sql, params object[] parameters)
    {
        await using var command = DataSource.CreateCommand(sql);
        foreach (var parameter in parameters)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = parameter });
        }

        return Convert.ToInt64(await command.ExecuteScalarAsync(TestContext.Current.CancellationToken), System.Globalization.CultureInfo.InvariantCulture);
    }

    public async Task ExecuteAsync(string sql)
    {
        await using var command = DataSource.CreateCommand(sql);
        await command.ExecuteNonQueryAsync(TestContext.Current.CancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        if (_dataSource is not null)
        {
            await _dataSource.DisposeAsync();
        }

        NpgsqlConnection.ClearAllPools();
        await postgres.Server.DropDatabaseAsync(_name, CancellationToken.None);
    }
}

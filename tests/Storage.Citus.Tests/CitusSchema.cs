using System.Globalization;
using Npgsql;
using Storage.Migrations;

namespace Storage.Citus.Tests;

/// <summary>
/// A schema of its own on the Citus coordinator that STORAGE_TEST_CITUS names, for the whole run: migrated, then
/// distributed (4 shards per table, so two per worker), dropped at the end. Tests scope their data by a unique tenant
/// or model, as the single-node suites do.
/// </summary>
public sealed class CitusSchema : IAsyncLifetime
{
    public const string Variable = "STORAGE_TEST_CITUS";

    private readonly string _name = $"storage_citus_{Guid.NewGuid():N}";
    private readonly Func<string, string[]> _beforeMigrating;
    private NpgsqlDataSource? _admin;
    private NpgsqlDataSource? _dataSource;

    public CitusSchema()
        : this(_ => [])
    {
    }

    /// <summary>A schema whose superuser statements (given the schema's name) run after it is created and before the migrations.</summary>
    internal CitusSchema(Func<string, string[]> beforeMigrating) => _beforeMigrating = beforeMigrating;

    /// <summary>The schema's name.</summary>
    public string Name => _name;

    /// <summary>The coordinator's connection string as the superuser, without the schema.</summary>
    public string Coordinator { get; private set; } = "";

    public NpgsqlDataSource DataSource => _dataSource ?? throw new InvalidOperationException("The schema has not been created.");

    public string ConnectionString { get; private set; } = "";

    public async ValueTask InitializeAsync()
    {
        var coordinator = Environment.GetEnvironmentVariable(Variable);
        if (string.IsNullOrWhiteSpace(coordinator))
        {
            throw new InvalidOperationException(
                $"{Variable} is not set: these tests need a Citus coordinator's connection string (a database with the citus extension "
                + "and its workers added). CI does not run them; see the README's \"Distributed (Citus)\".");
        }

        var token = TestContext.Current.CancellationToken;
        Coordinator = coordinator;
        _admin = NpgsqlDataSource.Create(coordinator);
        foreach (var sql in (string[])[$"CREATE SCHEMA {_name}", .. _beforeMigrating(_name)])
        {
            await using var command = _admin.CreateCommand(sql);
            await command.ExecuteNonQueryAsync(token);
        }

        ConnectionString = new NpgsqlConnectionStringBuilder(coordinator) { SearchPath = _name }.ConnectionString;
        _dataSource = NpgsqlDataSource.Create(ConnectionString);
        await StorageMigrator.MigrateAsync(_dataSource, token);
        Assert.True(await StorageMigrator.DistributeOnCitusAsync(_dataSource, shardCount: 4, token));
    }

    public ChatCompletionStore CreateStore(ChatCompletionStoreOptions? options = null) => new(DataSource, options);

    public async Task<T> ScalarAsync<T>(string sql, params object[] parameters)
    {
        await using var command = DataSource.CreateCommand(sql);
        foreach (var parameter in parameters)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = parameter });
        }

        var value = await command.ExecuteScalarAsync(TestContext.Current.CancellationToken);
        return (T)Convert.ChangeType(value!, typeof(T), CultureInfo.InvariantCulture);
    }

    public async ValueTask DisposeAsync()
    {
        if (_dataSource is not null)
        {
            await _dataSource.DisposeAsync();
        }

        if (_admin is not null)
        {
            await using (var drop = _admin.CreateCommand($"DROP SCHEMA IF EXISTS {_name} CASCADE"))
            {
                await drop.ExecuteNonQueryAsync(CancellationToken.None);
            }

            await _admin.DisposeAsync();
        }
    }
}

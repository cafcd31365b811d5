using Npgsql;
using Testcontainers.PostgreSql;

namespace Storage.Tests.Support;

/// <summary>
/// A PostgreSQL server for tests, with a superuser connection to its maintenance database,
/// on which each test creates and drops its own databases.
/// </summary>
public sealed class PostgresServer : IAsyncDisposable
{
    private const string ConnectionVariable = "STORAGE_TEST_CONNECTION";
    private const string Image = "postgres:15.14-alpine";
    private static readonly TimeSpan ContainerStartTimeout = TimeSpan.FromSeconds(90);

    // Once the engine has failed us, later servers in this test run go straight to a local cluster.
    private static volatile bool s_containerStartFailed;

    private readonly IAsyncDisposable? _owned;

    private PostgresServer(string connectionString, string description, IAsyncDisposable? owned)
    {
        ConnectionString = connectionString;
        Description = description;
        _owned = owned;
    }

    /// <summary>A superuser connection string to the maintenance database "postgres".</summary>
    public string ConnectionString { get; }

    /// <summary>Where the server comes from, for test logs.</summary>
    public string Description { get; }

    /// <summary>
    /// Uses the server named by STORAGE_TEST_CONNECTION if set, else a Testcontainers PostgreSQL if a Docker engine
    /// answers, else a throwaway cluster from the installed PostgreSQL binaries.
    /// </summary>
    public static async Task<PostgresServer> StartAsync(CancellationToken cancellationToken = default)
    {
        var configured = Environment.GetEnvironmentVariable(ConnectionVariable);
        if (!string.IsNullOrWhiteSpace(configured))
        {
            var builder = new NpgsqlConnectionStringBuilder(configured);
            // Npgsql would otherwise connect to a database named after the user.
            if (string.IsNullOrEmpty(builder.Database))
            {
                builder.Database = "postgres";
            }

            return new PostgresServer(builder.ConnectionString, "environment", owned: null);
        }

        return await TryStartContainerAsync(cancellationToken).ConfigureAwait(false)
            ?? await StartLocalClusterAsync(durable: false, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Starts a new cluster from the installed PostgreSQL binaries. A non-durable one skips fsync and friends,
    /// which is faster but loses data if the server crashes.
    /// </summary>
    public static async Task<PostgresServer> StartLocalClusterAsync(bool durable, CancellationToken cancellationToken = default)
    {
        var cluster = await LocalCluster.StartAsync(durable, cancellationToken).ConfigureAwait(false);
        return new PostgresServer(cluster.ConnectionString, cluster.Description, cluster);
    }

    /// <summary>Crashes a local cluster with SIGKILL to its postmaster and children; see <see cref="StartLocalClusterAsync"/>.</summary>
    /// <exception cref="InvalidOperationException">The server is not a local cluster this process started.</exception>
    public Task KillAsync(CancellationToken cancellationToken = default) => OwnedCluster.KillAsync(cancellationToken);

    /// <summary>Starts a killed local cluster again on the same port, with crash recovery.</summary>
    /// <exception cref="InvalidOperationException">The server is not a local cluster this process started.</exception>
    public Task RestartAsync(CancellationToken cancellationToken = default) => OwnedCluster.RestartAsync(cancellationToken);

    /// <summary>Creates an empty database and returns a superuser connection string to it.</summary>
    public async Task<string> CreateDatabaseAsync(string name, CancellationToken cancellationToken = default)
    {
        await ExecuteAsync($"CREATE DATABASE {QuoteIdentifier(name)}", cancellationToken).ConfigureAwait(false);
        return DatabaseConnectionString(name);
    }

    /// <summary>Drops a database if it exists, disconnecting whoever is still connected to it.</summary>
    public async Task DropDatabaseAsync(string name, CancellationToken cancellationToken = default)
    {
        await ExecuteAsync($"DROP DATABASE IF EXISTS {QuoteIdentifier(name)} WITH (FORCE)", cancellationToken).ConfigureAwait(false);
        // The pool still holds the connections the drop cut; a later database of the same name must not get them.
        using var connection = new NpgsqlConnection(DatabaseConnectionString(name));
        NpgsqlConnection.ClearPool(connection);
    }

    /// <summary>Stops the container or cluster this started; a server from the environment is left alone.</summary>
    public ValueTask DisposeAsync() => _owned?.DisposeAsync() ?? ValueTask.CompletedTask;

    private static async Task<PostgresServer?> TryStartContainerAsync(CancellationToken cancellationToken)
    {
        // Without an engine to talk to, Testcontainers would only spend time finding that out.
        if (s_containerStartFailed
            || (Environment.GetEnvironmentVariable("DOCKER_HOST") is null && !File.Exists("/var/run/docker.sock")))
        {
            return null;
        }

        // An engine that accepts connections but never answers must not hang the test run.
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(ContainerStartTimeout);
        try
        {
            var container = await StartContainerAsync(timeout.Token).WaitAsync(timeout.Token).ConfigureAwait(false);
            return new PostgresServer(container.GetConnectionString(), $"testcontainers {Image}", container);
        }
        catch (Exception exception) when (!cancellationToken.IsCancellationRequested)
        {
            s_containerStartFailed = true;
            var reason = exception is OperationCanceledException
                ? $"no answer within {ContainerStartTimeout.TotalSeconds:0} s"
                : exception.Message;
            await Console.Error.WriteLineAsync(
                $"Testcontainers could not start {Image}, using a local cluster instead: {reason}").ConfigureAwait(false);
            return null;
        }
    }

    private static async Task<PostgreSqlContainer> StartContainerAsync(CancellationToken cancellationToken)
    {
        // Build() probes the Docker endpoint synchronously; off the caller's thread it stays within the timeout.
        var container = await Task.Run(() => new PostgreSqlBuilder(Image).Build(), cancellationToken).ConfigureAwait(false);
        try
        {
            await container.StartAsync(cancellationToken).ConfigureAwait(false);
            return container;
        }
        catch
        {
            await container.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private LocalCluster OwnedCluster => _owned as LocalCluster
        ?? throw new InvalidOperationException($"Only a local cluster can be killed and restarted, not {Description}.");

    private static string QuoteIdentifier(string name) => $"\"{name.Replace("\"", "\"\"", StringComparison.Ordinal)}\"";

    private string DatabaseConnectionString(string name) =>
        new NpgsqlConnectionStringBuilder(ConnectionString) { Database = name }.ConnectionString;

    private async Task ExecuteAsync(string sql, CancellationToken cancellationToken)
    {
        var connection = new NpgsqlConnection(ConnectionString);
        await using (connection.ConfigureAwait(false))
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            var command = new NpgsqlCommand(sql, connection);
            await using (command.ConfigureAwait(false))
            {
                await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
        }
    }
}

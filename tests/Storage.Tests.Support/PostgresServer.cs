using System.Net;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Npgsql;
using Storage.Connection;
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
    /// Starts a new cluster from the installed PostgreSQL binaries, in a temporary directory on 127.0.0.1 and a free port,
    /// removed when this is disposed or the test process ends. A non-durable one skips fsync and friends, which is faster
    /// but loses data if the server crashes.
    /// </summary>
    public static async Task<PostgresServer> StartLocalClusterAsync(bool durable, CancellationToken cancellationToken = default)
    {
        var cluster = await ThrowawayCluster.StartAsync(durable, cancellationToken).ConfigureAwait(false);
        return new PostgresServer(cluster.ConnectionString, cluster.Description, cluster);
    }

    /// <summary>Crashes a local cluster with SIGKILL to its postmaster and children; see <see cref="StartLocalClusterAsync"/>.</summary>
    /// <exception cref="InvalidOperationException">The server is not a local cluster this process started.</exception>
    public Task KillAsync(CancellationToken cancellationToken = default) => OwnedCluster.KillAsync(cancellationToken);

    /// <summary>Starts a killed local cluster again on the same port, with crash recovery.</summary>
    /// <exception cref="InvalidOperationException">The server is not a local cluster this process started.</exception>
    public Task RestartAsync(CancellationToken cancellationToken = default) => OwnedCluster.RestartAsync(cancellationToken);

    /// <summary>
    /// Makes a streaming standby of this local cluster (pg_basebackup -R from it, over 127.0.0.1) and starts it with the
    /// same settings on a free port of its own; the same superuser and password reach it. Removed when disposed.
    /// </summary>
    /// <exception cref="InvalidOperationException">The server is not a local cluster this process started.</exception>
    public async Task<PostgresServer> StartStandbyAsync(CancellationToken cancellationToken = default)
    {
        var primary = _owned as ThrowawayCluster
            ?? throw new InvalidOperationException($"Only a local cluster can be given a standby, not {Description}.");
        var standby = await ThrowawayCluster.StartStandbyAsync(primary, cancellationToken).ConfigureAwait(false);
        return new PostgresServer(standby.ConnectionString, standby.Description, standby);
    }

    /// <summary>Stops a local cluster (pg_ctl's immediate mode); <see cref="RestartAsync"/> starts it again on the same port.</summary>
    /// <exception cref="InvalidOperationException">The server is not a local cluster this process started.</exception>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        var stopped = await OwnedCluster.StopAsync(cancellationToken).ConfigureAwait(false);
        if (!stopped.Succeeded)
        {
            throw new InvalidOperationException($"Could not stop {Description}: {stopped}");
        }
    }

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

    private PostgresCluster OwnedCluster => (_owned as ThrowawayCluster)?.Cluster
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

    /// <summary>A <see cref="PostgresCluster"/> that exists for one test run: removed on dispose, and on exit when nobody disposes it.</summary>
    private sealed class ThrowawayCluster : IAsyncDisposable
    {
        private const string Superuser = "postgres";
        // As root, when the system has no postgres user (no packaged server), the tests make one of their own.
        private const string FallbackOsUser = "storagetest";

        private readonly string _password;
        private readonly EventHandler _onProcessExit;
        private readonly PosixSignalRegistration[] _onSignals;
        private int _removed;

        private ThrowawayCluster(PostgresCluster cluster, string password, string[] settings)
        {
            Cluster = cluster;
            _password = password;
            Settings = settings;
            // A test run that ends without disposing must not leave a server running. Since .NET 10, SIGTERM and
            // Ctrl+C no longer raise ProcessExit, so they get handlers of their own.
            _onProcessExit = (_, _) => Remove();
            AppDomain.CurrentDomain.ProcessExit += _onProcessExit;
            _onSignals =
            [
                PosixSignalRegistration.Create(PosixSignal.SIGTERM, _ => Remove()),
                PosixSignalRegistration.Create(PosixSignal.SIGINT, _ => Remove()),
            ];
        }

        public PostgresCluster Cluster { get; }

        /// <summary>The server settings it starts with; a standby of it starts with the same.</summary>
        public string[] Settings { get; }

        public string ConnectionString => PostgresCluster.ConnectionString(Cluster.Port, Superuser, _password, "postgres");

        public string Description => $"local cluster {Cluster.DataDirectory} on {IPAddress.Loopback}:{Cluster.Port}";

        public static async Task<ThrowawayCluster> StartAsync(bool durable, CancellationToken cancellationToken)
        {
            // The same search as the storage command's development cluster.
            var binDirectory = await PostgresBinaries.FindBinDirectoryAsync(cancellationToken).ConfigureAwait(false)
                ?? throw new InvalidOperationException(
                    "No PostgreSQL server binaries (initdb, pg_ctl) were found via pg_config, under /usr/lib/postgresql/*/bin or on PATH. "
                    + "Install PostgreSQL (e.g. `apt-get install postgresql`) or set STORAGE_TEST_CONNECTION to the connection string "
                    + "of a server whose user may CREATE DATABASE.");
            // initdb and pg_ctl refuse to run as root.
            string? osUser = null;
            if (Environment.IsPrivilegedProcess)
            {
                osUser = await PostgresCluster.OsUserExistsAsync(PostgresCluster.ServerOsUser, cancellationToken).ConfigureAwait(false)
                    ? PostgresCluster.ServerOsUser
                    : FallbackOsUser;
                await PostgresCluster.EnsureOsUserAsync(osUser, cancellationToken).ConfigureAwait(false);
            }

            // A throwaway cluster loses nothing if a crash corrupts it, and tests run much faster without syncs.
            string[] settings = durable
                ? ["max_connections=200"]
                : ["max_connections=200", "fsync=off", "synchronous_commit=off", "full_page_writes=off"];
            var cluster = new ThrowawayCluster(
                new PostgresCluster(Directory.CreateTempSubdirectory("storage-pg-").FullName, binDirectory, osUser),
                RandomNumberGenerator.GetHexString(32, lowercase: true),
                settings);
            try
            {
                await cluster.Cluster.InitializeAsync(Superuser, cluster._password, cancellationToken).ConfigureAwait(false);
                await cluster.Cluster.StartOnFreePortAsync(settings, cancellationToken).ConfigureAwait(false);
                return cluster;
            }
            catch
            {
                await cluster.DisposeAsync().ConfigureAwait(false);
                throw;
            }
        }

        /// <summary>A standby of a running throwaway cluster: its base backup, started with its settings on a free port.</summary>
        public static async Task<ThrowawayCluster> StartStandbyAsync(ThrowawayCluster primary, CancellationToken cancellationToken)
        {
            var source = primary.Cluster;
            var standby = new ThrowawayCluster(
                new PostgresCluster(Directory.CreateTempSubdirectory("storage-pg-standby-").FullName, source.BinDirectory, source.OsUser),
                primary._password,
                primary.Settings);
            try
            {
                await standby.Cluster.BaseBackupFromAsync(source.Port, Superuser, primary._password, cancellationToken).ConfigureAwait(false);
                await standby.Cluster.StartOnFreePortAsync(primary.Settings, cancellationToken).ConfigureAwait(false);
                return standby;
            }
            catch
            {
                await standby.DisposeAsync().ConfigureAwait(false);
                throw;
            }
        }

        public async ValueTask DisposeAsync()
        {
            AppDomain.CurrentDomain.ProcessExit -= _onProcessExit;
            foreach (var registration in _onSignals)
            {
                registration.Dispose();
            }

            await RemoveAsync().ConfigureAwait(false);
        }

        private async Task RemoveAsync()
        {
            if (Interlocked.Exchange(ref _removed, 1) == 0)
            {
                await Cluster.RemoveAsync(CancellationToken.None).ConfigureAwait(false);
            }
        }

        private void Remove() => RemoveAsync().GetAwaiter().GetResult();
    }
}

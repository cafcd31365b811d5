using System.Globalization;
using System.Runtime.Versioning;
using System.Security.Cryptography;
using Npgsql;

namespace Storage.Connection;

/// <summary>
/// A PostgreSQL cluster for development that the tool creates once per user from the installed binaries, starts when it
/// is down and leaves running for the next command. It listens on 127.0.0.1 only, over TCP only, with a password that is
/// kept in the data directory; the port it last used is kept there too and reused while it is free. Unix only: it relies on
/// Unix file modes and, as root, on runuser.
/// </summary>
[UnsupportedOSPlatform("windows")]
public sealed class DevCluster
{
    /// <summary>The port tried first, away from the 5432 of a system or docker-compose server.</summary>
    public const int PreferredPort = 54329;

    private const string DatabaseName = "storage";
    private const string Superuser = "postgres";
    private const string PasswordFileName = "storage-cli.password";
    private const string PortFileName = "storage-cli.port";
    private const string SystemDirectory = "/var/lib/storage/postgres";
    private static readonly TimeSpan LockTimeout = TimeSpan.FromSeconds(90);

    private readonly PostgresCluster _cluster;
    private readonly int _preferredPort;

    /// <param name="dataDirectory">The cluster's data directory, created if missing.</param>
    /// <param name="binDirectory">Where initdb and pg_ctl are.</param>
    /// <param name="osUser">The OS user the server runs as when this process is root (PostgreSQL refuses root); <c>null</c> to run as this user.</param>
    /// <param name="preferredPort">The port to try first when no remembered port is free.</param>
    public DevCluster(string dataDirectory, string binDirectory, string? osUser, int preferredPort = PreferredPort)
    {
        _cluster = new PostgresCluster(dataDirectory, binDirectory, osUser);
        _preferredPort = preferredPort;
    }

    /// <summary>The cluster's data directory.</summary>
    public string DataDirectory => _cluster.DataDirectory;

    /// <summary>The command that stops the server, as the user would type it.</summary>
    public string StopCommand => _cluster.StopCommand;

    private string PasswordFile => Path.Combine(DataDirectory, PasswordFileName);

    private string PortFile => Path.Combine(DataDirectory, PortFileName);

    /// <summary>
    /// The current user's cluster, run from the installed binaries: in LocalApplicationData/storage/postgres, or, when this
    /// process is root, run as the <c>postgres</c> OS user and in /var/lib/storage/postgres if that user cannot reach the former.
    /// </summary>
    /// <exception cref="StorageConnectionException">No PostgreSQL binaries are installed, or root has no <c>postgres</c> user.</exception>
    public static async Task<DevCluster> ForCurrentUserAsync(CancellationToken cancellationToken)
    {
        var binDirectory = await PostgresBinaries.FindBinDirectoryAsync(cancellationToken).ConfigureAwait(false)
            ?? throw new StorageConnectionException(ConnectionResolver.NoServerMessage);
        string? osUser = null;
        if (Environment.IsPrivilegedProcess)
        {
            osUser = PostgresCluster.ServerOsUser;
            if (!await PostgresCluster.OsUserExistsAsync(osUser, cancellationToken).ConfigureAwait(false))
            {
                throw new StorageConnectionException(
                    $"Running as root, the development PostgreSQL must run as the '{osUser}' OS user, which does not exist. "
                    + "Run as another user, or set ConnectionStrings__Storage.");
            }
        }

        return new DevCluster(await ChooseDirectoryAsync(osUser, cancellationToken).ConfigureAwait(false), binDirectory, osUser);
    }

    /// <summary>
    /// Creates the cluster if it does not exist, starts it if it is down and creates the <c>storage</c> database if it is
    /// missing; says on <paramref name="log"/> where the cluster is and how to stop it.
    /// </summary>
    /// <returns>A connection string to the <c>storage</c> database.</returns>
    public async Task<string> EnsureRunningAsync(TextWriter log, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(DataDirectory)!);
        // Two commands started together must not both run initdb or start a server.
        await using var exclusive = await LockAsync(cancellationToken).ConfigureAwait(false);

        var password = await EnsureCreatedAsync(cancellationToken).ConfigureAwait(false);
        var running = await _cluster.RunningPortAsync(cancellationToken).ConfigureAwait(false);
        var port = running ?? await StartAsync(cancellationToken).ConfigureAwait(false);
        await EnsureDatabaseAsync(PostgresCluster.ConnectionString(port, Superuser, password, "postgres"), cancellationToken).ConfigureAwait(false);

        await log.WriteLineAsync(running is null
            ? $"storage: started a development PostgreSQL in {DataDirectory} on 127.0.0.1:{port}; it keeps running for the next "
                + $"command: stop it with {StopCommand}"
            : $"storage: using the development PostgreSQL in {DataDirectory} on 127.0.0.1:{port}").ConfigureAwait(false);
        return PostgresCluster.ConnectionString(port, Superuser, password, DatabaseName);
    }

    private static async Task<string> ChooseDirectoryAsync(string? osUser, CancellationToken cancellationToken)
    {
        var localData = Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.DoNotVerify);
        var preferred = string.IsNullOrEmpty(localData) ? null : Path.Combine(localData, "storage", "postgres");
        if (osUser is null)
        {
            return preferred ?? throw new StorageConnectionException(
                "No local application data folder (HOME is not set) to keep a development PostgreSQL in; set HOME or ConnectionStrings__Storage.");
        }

        // The server runs as osUser, which must be able to reach the directory, and root's home usually lets nobody in;
        // then the cluster lives in the system's data folder instead.
        if (preferred is not null)
        {
            var existing = Path.GetDirectoryName(preferred);
            while (existing is not null && !Directory.Exists(existing))
            {
                existing = Path.GetDirectoryName(existing);
            }

            if (existing is not null
                && (await ProcessRunner.RunAsync("runuser", ["-u", osUser, "--", "test", "-x", existing], cancellationToken).ConfigureAwait(false)).Succeeded)
            {
                return preferred;
            }
        }

        return SystemDirectory;
    }

    private async Task<FileStream> LockAsync(CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + LockTimeout;
        while (true)
        {
            try
            {
                // On Unix, FileShare.None takes an advisory lock that other processes of this tool respect.
                return new FileStream(DataDirectory + ".lock", FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(200), cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Runs initdb unless the cluster exists; returns the superuser's password.</summary>
    private async Task<string> EnsureCreatedAsync(CancellationToken cancellationToken)
    {
        // The password file is written last, so its presence means the cluster was set up completely.
        if (File.Exists(PasswordFile))
        {
            return (await File.ReadAllTextAsync(PasswordFile, cancellationToken).ConfigureAwait(false)).Trim();
        }

        if (Directory.Exists(DataDirectory) && Directory.EnumerateFileSystemEntries(DataDirectory).Any())
        {
            throw new StorageConnectionException($"{DataDirectory} holds no complete development PostgreSQL (was its setup interrupted?); remove it and try again.");
        }

        var password = RandomNumberGenerator.GetHexString(32, lowercase: true);
        await _cluster.InitializeAsync(Superuser, password, cancellationToken).ConfigureAwait(false);
        // Loopback and TCP only, also when the user starts the server by hand: nothing outside this machine can connect,
        // and no socket directory needs to be writable.
        await File.AppendAllTextAsync(
            Path.Combine(DataDirectory, "postgresql.conf"),
            "\n# Set by the storage tool.\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = ''\n",
            cancellationToken).ConfigureAwait(false);
        await WritePrivateFileAsync(PasswordFile, password, cancellationToken).ConfigureAwait(false);
        return password;
    }

    private async Task<int> StartAsync(CancellationToken cancellationToken)
    {
        var port = await ChoosePortAsync(cancellationToken).ConfigureAwait(false);
        await WritePrivateFileAsync(PortFile, port.ToString(CultureInfo.InvariantCulture), cancellationToken).ConfigureAwait(false);
        var started = await _cluster.TryStartAsync(port, [], cancellationToken).ConfigureAwait(false);
        return started.Succeeded
            ? port
            : throw new StorageConnectionException(
                $"The development PostgreSQL in {DataDirectory} did not start ({started.Output.ReplaceLineEndings(" ")}); see {_cluster.LogFile}.");
    }

    private async Task<int> ChoosePortAsync(CancellationToken cancellationToken)
    {
        if (File.Exists(PortFile)
            && int.TryParse(await File.ReadAllTextAsync(PortFile, cancellationToken).ConfigureAwait(false), CultureInfo.InvariantCulture, out var remembered)
            && PostgresCluster.IsPortFree(remembered))
        {
            return remembered;
        }

        return PostgresCluster.IsPortFree(_preferredPort) ? _preferredPort : PostgresCluster.FindFreePort();
    }

    private static async Task EnsureDatabaseAsync(string adminConnectionString, CancellationToken cancellationToken)
    {
        // Unpooled: an idle admin connection would outlive a restart of the server as a broken one.
        await using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(adminConnectionString) { Pooling = false }.ConnectionString);
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var exists = new NpgsqlCommand("SELECT 1 FROM pg_database WHERE datname = $1", connection)
        {
            Parameters = { new NpgsqlParameter { Value = DatabaseName } },
        };
        if (await exists.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is null)
        {
            await using var create = new NpgsqlCommand($"CREATE DATABASE {DatabaseName}", connection);
            await create.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private static async Task WritePrivateFileAsync(string path, string contents, CancellationToken cancellationToken)
    {
        var options = new FileStreamOptions
        {
            Mode = FileMode.Create,
            Access = FileAccess.Write,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        };
        await using var stream = new FileStream(path, options);
        await using var writer = new StreamWriter(stream);
        await writer.WriteAsync(contents.AsMemory(), cancellationToken).ConfigureAwait(false);
    }
}

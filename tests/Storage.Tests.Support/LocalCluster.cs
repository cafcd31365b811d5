using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Npgsql;

namespace Storage.Tests.Support;

/// <summary>A throwaway PostgreSQL cluster in a temporary directory, run from the installed binaries.</summary>
internal sealed class LocalCluster : IAsyncDisposable
{
    private const string Superuser = "postgres";
    private const string FallbackOsUser = "storagetest";

    private readonly string _binDirectory;
    private readonly string? _osUser;
    private readonly string _directory;
    private readonly string _password = RandomNumberGenerator.GetHexString(32, lowercase: true);
    private readonly EventHandler _onProcessExit;
    private readonly PosixSignalRegistration[] _onSignals;
    private int _port;
    private int _cleanedUp;

    private LocalCluster(string binDirectory, string? osUser)
    {
        _binDirectory = binDirectory;
        _osUser = osUser;
        _directory = Directory.CreateTempSubdirectory("storage-pg-").FullName;
        // A test run that ends without disposing must not leave a server running. Since .NET 10, SIGTERM and
        // Ctrl+C no longer raise ProcessExit, so they get handlers of their own.
        _onProcessExit = (_, _) => CleanUp();
        AppDomain.CurrentDomain.ProcessExit += _onProcessExit;
        _onSignals =
        [
            PosixSignalRegistration.Create(PosixSignal.SIGTERM, _ => CleanUp()),
            PosixSignalRegistration.Create(PosixSignal.SIGINT, _ => CleanUp()),
        ];
    }

    public string ConnectionString => new NpgsqlConnectionStringBuilder
    {
        Host = IPAddress.Loopback.ToString(),
        Port = _port,
        Username = Superuser,
        Password = _password,
        Database = "postgres",
    }.ConnectionString;

    public string Description => $"local cluster {_directory} on {IPAddress.Loopback}:{_port}";

    private string DataDirectory => Path.Combine(_directory, "data");

    private string LogFile => Path.Combine(_directory, "server.log");

    public static async Task<LocalCluster> StartAsync(bool durable, CancellationToken cancellationToken)
    {
        var binDirectory = await PostgresBinaries.FindBinDirectoryAsync(cancellationToken).ConfigureAwait(false);
        // initdb and pg_ctl refuse to run as root. Environment.UserName is looked up from the effective uid.
        var osUser = Environment.UserName == "root"
            ? await EnsureOsUserAsync(cancellationToken).ConfigureAwait(false)
            : null;

        var cluster = new LocalCluster(binDirectory, osUser);
        try
        {
            await cluster.InitializeAsync(cancellationToken).ConfigureAwait(false);
            await cluster.StartServerAsync(durable, cancellationToken).ConfigureAwait(false);
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync().ConfigureAwait(false);
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

        await CleanUpAsync().ConfigureAwait(false);
    }

    private static async Task<string> EnsureOsUserAsync(CancellationToken cancellationToken)
    {
        if (await OsUserExistsAsync(Superuser, cancellationToken).ConfigureAwait(false))
        {
            return Superuser;
        }

        if (!await OsUserExistsAsync(FallbackOsUser, cancellationToken).ConfigureAwait(false))
        {
            var created = await ProcessRunner.TryRunAsync(
                "useradd", ["--system", "--no-create-home", FallbackOsUser], cancellationToken).ConfigureAwait(false);
            // Exit code 9 means the user exists: a test process running in parallel created it first.
            if (created.ExitCode is not (0 or 9))
            {
                throw new InvalidOperationException(created.ToString());
            }
        }

        return FallbackOsUser;
    }

    private static async Task<bool> OsUserExistsAsync(string name, CancellationToken cancellationToken) =>
        (await ProcessRunner.TryRunAsync("id", ["-u", name], cancellationToken).ConfigureAwait(false)).ExitCode == 0;

    private static int FindFreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private async Task InitializeAsync(CancellationToken cancellationToken)
    {
        var passwordFile = Path.Combine(_directory, "password");
        await File.WriteAllTextAsync(passwordFile, _password, cancellationToken).ConfigureAwait(false);
        if (_osUser is not null)
        {
            await ProcessRunner.RunAsync("chown", ["-R", $"{_osUser}:", _directory], cancellationToken).ConfigureAwait(false);
        }

        string[] initdb = ["-D", DataDirectory, "-U", Superuser, "--auth=scram-sha-256", $"--pwfile={passwordFile}", "-E", "UTF8"];
        // C.UTF-8 is missing from some older C libraries; initdb removes what it created when it fails.
        var initialized = await TryRunToolAsync("initdb", [.. initdb, "--locale=C.UTF-8"], cancellationToken).ConfigureAwait(false);
        if (initialized.ExitCode != 0)
        {
            await RunToolAsync("initdb", [.. initdb, "--locale=C"], cancellationToken).ConfigureAwait(false);
        }

        File.Delete(passwordFile);
    }

    private async Task StartServerAsync(bool durable, CancellationToken cancellationToken)
    {
        // The port can be taken between probing and binding, so one failed start is retried on a fresh port.
        for (var attempt = 1; ; attempt++)
        {
            _port = FindFreePort();
            // -l also keeps the server off our output pipes, which would otherwise never reach end of file.
            var started = await TryRunToolAsync(
                "pg_ctl",
                ["-D", DataDirectory, "-l", LogFile, "-w", "-t", "60", "-o", ServerOptions(durable), "start"],
                cancellationToken).ConfigureAwait(false);
            if (started.ExitCode == 0)
            {
                return;
            }

            // A start that timed out can leave a server behind.
            await StopServerAsync(cancellationToken).ConfigureAwait(false);
            if (attempt == 2)
            {
                var log = File.Exists(LogFile)
                    ? await File.ReadAllTextAsync(LogFile, cancellationToken).ConfigureAwait(false)
                    : "(none)";
                throw new InvalidOperationException($"PostgreSQL did not start: {started}\nserver log:\n{log}");
            }
        }
    }

    private string ServerOptions(bool durable)
    {
        var options = $"-c listen_addresses={IPAddress.Loopback} -p {_port} -c unix_socket_directories='' -c max_connections=200";
        // A throwaway cluster loses nothing if a crash corrupts it, and tests run much faster without syncs.
        return durable ? options : options + " -c fsync=off -c synchronous_commit=off -c full_page_writes=off";
    }

    private Task<ProcessResult> StopServerAsync(CancellationToken cancellationToken) =>
        // Fails harmlessly when the server is already down, as after a test killed it.
        TryRunToolAsync("pg_ctl", ["-D", DataDirectory, "-m", "immediate", "stop"], cancellationToken);

    private async Task CleanUpAsync()
    {
        if (Interlocked.Exchange(ref _cleanedUp, 1) == 1)
        {
            return;
        }

        if (Directory.Exists(DataDirectory))
        {
            await StopServerAsync(CancellationToken.None).ConfigureAwait(false);
        }

        Directory.Delete(_directory, recursive: true);
    }

    private void CleanUp() => CleanUpAsync().GetAwaiter().GetResult();

    private async Task RunToolAsync(string tool, IEnumerable<string> arguments, CancellationToken cancellationToken) =>
        (await TryRunToolAsync(tool, arguments, cancellationToken).ConfigureAwait(false)).EnsureSuccess();

    private Task<ProcessResult> TryRunToolAsync(string tool, IEnumerable<string> arguments, CancellationToken cancellationToken)
    {
        var path = Path.Combine(_binDirectory, tool);
        return _osUser is null
            ? ProcessRunner.TryRunAsync(path, arguments, cancellationToken, _directory)
            : ProcessRunner.TryRunAsync("runuser", ["-u", _osUser, "--", path, .. arguments], cancellationToken, _directory);
    }
}

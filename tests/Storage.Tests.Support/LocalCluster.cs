using System.Globalization;
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
    private bool _durable;
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
        // The same search as the storage command's development cluster.
        var binDirectory = await Connection.PostgresBinaries.FindBinDirectoryAsync(cancellationToken).ConfigureAwait(false)
            ?? throw new InvalidOperationException(
                "No PostgreSQL server binaries (initdb, pg_ctl) were found via pg_config, under /usr/lib/postgresql/*/bin or on PATH. "
                + "Install PostgreSQL (e.g. `apt-get install postgresql`) or set STORAGE_TEST_CONNECTION to the connection string "
                + "of a server whose user may CREATE DATABASE.");
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

    /// <summary>
    /// Crashes the server as a power cut would: SIGKILL to the postmaster (its pid read from postmaster.pid) and to
    /// every process it started, then waits until they are gone. Nothing gets to shut down cleanly.
    /// </summary>
    public async Task KillAsync(CancellationToken cancellationToken)
    {
        var lines = await File.ReadAllLinesAsync(Path.Combine(DataDirectory, "postmaster.pid"), cancellationToken).ConfigureAwait(false);
        var postmaster = int.Parse(lines[0].Trim(), CultureInfo.InvariantCulture);
        // Children are listed before the postmaster dies: afterwards they are reparented and no longer findable by it.
        var victims = ChildrenOf(postmaster).Prepend(postmaster).ToList();
        // A backend can exit on its own between listing and killing; kill then reports it and still kills the others.
        await ProcessRunner.TryRunAsync("kill", ["-9", .. victims.Select(pid => pid.ToString(CultureInfo.InvariantCulture))], cancellationToken)
            .ConfigureAwait(false);
        // A restart refuses to start while a process of the old server still holds its shared memory.
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(10));
        while (victims.Any(IsAlive))
        {
            await Task.Delay(20, timeout.Token).ConfigureAwait(false);
        }

        // The killed postmaster stays a zombie until whoever adopted it (here PID 1) reaps it, and a new postmaster takes a
        // zombie's pid in postmaster.pid for a live server. If it is not reaped soon, the lock file is pointed at a pid that
        // cannot exist (pid_max); the rest of the file stays, so the restart still finds and removes the old shared memory.
        for (var waited = 0; ReadStat(postmaster) is not null && waited < 1000; waited += 20)
        {
            await Task.Delay(20, timeout.Token).ConfigureAwait(false);
        }

        if (ReadStat(postmaster) is not null)
        {
            var pidMax = (await File.ReadAllTextAsync("/proc/sys/kernel/pid_max", cancellationToken).ConfigureAwait(false)).Trim();
            lines[0] = pidMax;
            await File.WriteAllLinesAsync(Path.Combine(DataDirectory, "postmaster.pid"), lines, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Starts the server again on the same data directory and port (after <see cref="KillAsync"/>), running crash recovery.</summary>
    public async Task RestartAsync(CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            var started = await TryRunToolAsync(
                "pg_ctl",
                ["-D", DataDirectory, "-l", LogFile, "-w", "-t", "60", "-o", ServerOptions(_durable), "start"],
                cancellationToken).ConfigureAwait(false);
            if (started.ExitCode == 0)
            {
                return;
            }

            if (attempt == 3)
            {
                var log = File.Exists(LogFile)
                    ? await File.ReadAllTextAsync(LogFile, cancellationToken).ConfigureAwait(false)
                    : "(none)";
                throw new InvalidOperationException($"PostgreSQL did not restart: {started}\nserver log:\n{log}");
            }

            await Task.Delay(500, cancellationToken).ConfigureAwait(false);
        }
    }

    private static List<int> ChildrenOf(int parent)
    {
        var children = new List<int>();
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(directory), NumberStyles.None, CultureInfo.InvariantCulture, out var pid)
                && ReadStat(pid) is { } stat && stat.ParentPid == parent)
            {
                children.Add(pid);
            }
        }

        return children;
    }

    // A zombie has released everything, shared memory included; only its parent's wait would remove it.
    private static bool IsAlive(int pid) => ReadStat(pid) is { } stat && stat.State != 'Z';

    private static (char State, int ParentPid)? ReadStat(int pid)
    {
        try
        {
            // /proc/<pid>/stat: "pid (comm) state ppid ..."; comm may hold spaces and parentheses, so parse after the last ')'.
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return (fields[0][0], int.Parse(fields[1], CultureInfo.InvariantCulture));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private async Task StartServerAsync(bool durable, CancellationToken cancellationToken)
    {
        _durable = durable;
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

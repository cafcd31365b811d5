using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace Storage.Connection;

/// <summary>
/// A PostgreSQL cluster run from the installed binaries with initdb and pg_ctl, listening on 127.0.0.1 over TCP only. When
/// this process is root the tools run as another OS user through runuser, since PostgreSQL refuses to run as root. The
/// storage command's development cluster, the tests' throwaway clusters (with the fault tests' kill and restart, and the
/// replica tests' standbys made by pg_basebackup) and, through the development cluster, the benchmark all run on this.
/// Unix only: it relies on Unix file modes, runuser and /proc.
/// </summary>
internal sealed class PostgresCluster
{
    /// <summary>The OS user the server runs as when this process is root.</summary>
    public const string ServerOsUser = "postgres";

    private int? _port;
    private string[] _settings = [];

    /// <param name="dataDirectory">The cluster's data directory; created by <see cref="InitializeAsync"/> if missing.</param>
    /// <param name="binDirectory">Where initdb and pg_ctl are (see <see cref="PostgresBinaries"/>).</param>
    /// <param name="osUser">The OS user the tools run as (needed when this process is root); <c>null</c> to run them as this user.</param>
    public PostgresCluster(string dataDirectory, string binDirectory, string? osUser)
    {
        DataDirectory = dataDirectory;
        BinDirectory = binDirectory;
        OsUser = osUser;
    }

    public string DataDirectory { get; }

    public string BinDirectory { get; }

    public string? OsUser { get; }

    /// <summary>The server's log; pg_ctl -l also keeps the server off our output pipes, which would otherwise never reach end of file.</summary>
    public string LogFile => Path.Combine(DataDirectory, "server.log");

    /// <summary>The port of the last start through this object.</summary>
    public int Port => _port ?? throw new InvalidOperationException($"The cluster in {DataDirectory} has not been started.");

    /// <summary>The command that stops the server, as a user would type it.</summary>
    public string StopCommand =>
        (OsUser is null ? "" : $"runuser -u {OsUser} -- ") + $"{Quote(Path.Combine(BinDirectory, "pg_ctl"))} -D {Quote(DataDirectory)} stop";

    private string PidFile => Path.Combine(DataDirectory, "postmaster.pid");

    public static async Task<bool> OsUserExistsAsync(string name, CancellationToken cancellationToken) =>
        (await ProcessRunner.RunAsync("id", ["-u", name], cancellationToken).ConfigureAwait(false)).Succeeded;

    /// <summary>Creates a system OS user without a home unless it exists.</summary>
    public static async Task EnsureOsUserAsync(string name, CancellationToken cancellationToken)
    {
        if (await OsUserExistsAsync(name, cancellationToken).ConfigureAwait(false))
        {
            return;
        }

        var created = await ProcessRunner.RunAsync("useradd", ["--system", "--no-create-home", name], cancellationToken).ConfigureAwait(false);
        // Exit code 9 means the user exists: another process created it first.
        if (created.ExitCode is not (0 or 9))
        {
            throw new StorageConnectionException($"Could not create the '{name}' OS user: {created}");
        }
    }

    /// <summary>A port on 127.0.0.1 that nothing listens on now (it can be taken before the server binds it).</summary>
    public static int FindFreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public static bool IsPortFree(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    public static string ConnectionString(int port, string username, string password, string database) => new NpgsqlConnectionStringBuilder
    {
        Host = IPAddress.Loopback.ToString(),
        Port = port,
        Username = username,
        Password = password,
        Database = database,
    }.ConnectionString;

    /// <summary>Runs initdb into the (missing or empty) data directory, with a password-authenticated superuser.</summary>
    public async Task InitializeAsync(string superuser, string password, CancellationToken cancellationToken)
    {
        if (OperatingSystem.IsWindows())
        {
            throw new PlatformNotSupportedException("A PostgreSQL cluster from the installed binaries needs Unix.");
        }

        Directory.CreateDirectory(DataDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        await ChownAsync(DataDirectory, cancellationToken).ConfigureAwait(false);
        // initdb wants an empty directory, so the password reaches it through a private temporary file.
        var passwordFile = Path.GetTempFileName();
        try
        {
            await File.WriteAllTextAsync(passwordFile, password, cancellationToken).ConfigureAwait(false);
            await ChownAsync(passwordFile, cancellationToken).ConfigureAwait(false);
            string[] initdb = ["-D", DataDirectory, "-U", superuser, "--auth=scram-sha-256", $"--pwfile={passwordFile}", "-E", "UTF8"];
            // C.UTF-8 is missing from some older C libraries; a failed initdb empties the directory again.
            if (!(await TryRunToolAsync("initdb", [.. initdb, "--locale=C.UTF-8"], cancellationToken).ConfigureAwait(false)).Succeeded)
            {
                var retried = await TryRunToolAsync("initdb", [.. initdb, "--locale=C"], cancellationToken).ConfigureAwait(false);
                if (!retried.Succeeded)
                {
                    throw new StorageConnectionException($"initdb failed for the PostgreSQL in {DataDirectory}: {retried.Output.ReplaceLineEndings(" ")}");
                }
            }
        }
        finally
        {
            File.Delete(passwordFile);
        }
    }

    /// <summary>
    /// Starts the server on 127.0.0.1:<paramref name="port"/> and waits until it accepts connections; returns pg_ctl's
    /// result rather than throwing, so that callers can retry or explain in their own words.
    /// </summary>
    /// <param name="port">The port to listen on.</param>
    /// <param name="settings">Server settings for this start, each <c>name=value</c>.</param>
    /// <param name="cancellationToken">Cancels the start.</param>
    public Task<ProcessResult> TryStartAsync(int port, IEnumerable<string> settings, CancellationToken cancellationToken)
    {
        _port = port;
        _settings = [.. settings];
        var options = string.Join(
            ' ',
            [$"-p {port}", $"-c listen_addresses={IPAddress.Loopback}", "-c unix_socket_directories=''", .. _settings.Select(setting => $"-c {setting}")]);
        return TryRunToolAsync("pg_ctl", ["start", "-D", DataDirectory, "-l", LogFile, "-w", "-t", "60", "-o", options], cancellationToken);
    }

    /// <summary>Starts the server on a free port, trying a second one if the first was taken before the server bound it.</summary>
    public async Task StartOnFreePortAsync(IEnumerable<string> settings, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            var started = await TryStartAsync(FindFreePort(), settings, cancellationToken).ConfigureAwait(false);
            if (started.Succeeded)
            {
                return;
            }

            // A start that timed out can leave a server behind.
            await StopAsync(cancellationToken).ConfigureAwait(false);
            if (attempt == 2)
            {
                throw await StartFailureAsync(started, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Starts the server again on the port and settings of the last start (after <see cref="KillAsync"/>), running crash recovery.</summary>
    public async Task RestartAsync(CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            var started = await TryStartAsync(Port, _settings, cancellationToken).ConfigureAwait(false);
            if (started.Succeeded)
            {
                return;
            }

            if (attempt == 3)
            {
                throw await StartFailureAsync(started, cancellationToken).ConfigureAwait(false);
            }

            await Task.Delay(500, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The port of the running server, whoever started it, or <c>null</c> when it is down.</summary>
    public async Task<int?> RunningPortAsync(CancellationToken cancellationToken)
    {
        if (!(await TryRunToolAsync("pg_ctl", ["status", "-D", DataDirectory], cancellationToken).ConfigureAwait(false)).Succeeded)
        {
            return null;
        }

        // The fourth line of postmaster.pid is the port the server listens on.
        var lines = await File.ReadAllLinesAsync(PidFile, cancellationToken).ConfigureAwait(false);
        return int.Parse(lines[3], CultureInfo.InvariantCulture);
    }

    /// <summary>Stops the server at once (pg_ctl's immediate mode); fails harmlessly when it is already down, as after a kill.</summary>
    public Task<ProcessResult> StopAsync(CancellationToken cancellationToken) =>
        TryRunToolAsync("pg_ctl", ["stop", "-D", DataDirectory, "-m", "immediate"], cancellationToken);

    /// <summary>
    /// Crashes the server as a power cut would: SIGKILL to the postmaster (its pid read from postmaster.pid) and to
    /// every process it started, then waits until they are gone. Nothing gets to shut down cleanly. Linux only (/proc).
    /// </summary>
    public async Task KillAsync(CancellationToken cancellationToken)
    {
        var lines = await File.ReadAllLinesAsync(PidFile, cancellationToken).ConfigureAwait(false);
        var postmaster = int.Parse(lines[0].Trim(), CultureInfo.InvariantCulture);
        // Children are listed before the postmaster dies: afterwards they are reparented and no longer findable by it.
        var victims = ChildrenOf(postmaster).Prepend(postmaster).ToList();
        // A backend can exit on its own between listing and killing; kill then reports it and still kills the others.
        await ProcessRunner.RunAsync("kill", ["-9", .. victims.Select(pid => pid.ToString(CultureInfo.InvariantCulture))], cancellationToken)
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
            await File.WriteAllLinesAsync(PidFile, lines, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Stops the server if it runs and deletes the data directory.</summary>
    public async Task RemoveAsync(CancellationToken cancellationToken)
    {
        if (!Directory.Exists(DataDirectory))
        {
            return;
        }

        await StopAsync(cancellationToken).ConfigureAwait(false);
        Directory.Delete(DataDirectory, recursive: true);
    }

    /// <summary>Hands a file or directory to <see cref="OsUser"/>, if the tools run as another user.</summary>
    public async Task ChownAsync(string path, CancellationToken cancellationToken)
    {
        if (OsUser is not null)
        {
            var result = await ProcessRunner.RunAsync("chown", [$"{OsUser}:", path], cancellationToken).ConfigureAwait(false);
            if (!result.Succeeded)
            {
                throw new StorageConnectionException($"Could not hand {path} to the '{OsUser}' OS user: {result.Output}");
            }
        }
    }

    /// <summary>
    /// Makes this (missing or empty) data directory a streaming standby of the server on 127.0.0.1:<paramref name="primaryPort"/>:
    /// pg_basebackup with <c>-R</c>, which writes <c>standby.signal</c> and the <c>primary_conninfo</c> the standby
    /// replicates with. The primary needs <c>wal_level=replica</c> (the default) and to let <paramref name="user"/>
    /// replicate from 127.0.0.1 (initdb's pg_hba.conf lets every user with the REPLICATION attribute, superusers included).
    /// Start the standby with the primary's settings (a hot standby refuses a smaller <c>max_connections</c>).
    /// </summary>
    public async Task BaseBackupFromAsync(int primaryPort, string user, string password, CancellationToken cancellationToken)
    {
        if (OperatingSystem.IsWindows())
        {
            throw new PlatformNotSupportedException("A PostgreSQL cluster from the installed binaries needs Unix.");
        }

        Directory.CreateDirectory(DataDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        await ChownAsync(DataDirectory, cancellationToken).ConfigureAwait(false);
        // A fast checkpoint: the default spread one can take minutes on an idle server.
        var backup = await TryRunToolAsync(
                "pg_basebackup",
                ["-D", DataDirectory, "-h", IPAddress.Loopback.ToString(), "-p", primaryPort.ToString(CultureInfo.InvariantCulture), "-U", user,
                 "-R", "-X", "stream", "-c", "fast", "--no-sync", "--no-password"],
                cancellationToken,
                new Dictionary<string, string> { ["PGPASSWORD"] = password })
            .ConfigureAwait(false);
        if (!backup.Succeeded)
        {
            throw new StorageConnectionException($"pg_basebackup from port {primaryPort} into {DataDirectory} failed: {backup.Output.ReplaceLineEndings(" ")}");
        }
    }

    /// <summary>Runs initdb, pg_ctl or another program of <see cref="BinDirectory"/> as <see cref="OsUser"/>.</summary>
    public Task<ProcessResult> TryRunToolAsync(
        string tool, IEnumerable<string> arguments, CancellationToken cancellationToken, IReadOnlyDictionary<string, string>? environment = null)
    {
        var path = Path.Combine(BinDirectory, tool);
        return OsUser is null
            ? ProcessRunner.RunAsync(path, arguments, cancellationToken, environment)
            : ProcessRunner.RunAsync("runuser", ["-u", OsUser, "--", path, .. arguments], cancellationToken, environment);
    }

    private async Task<StorageConnectionException> StartFailureAsync(ProcessResult started, CancellationToken cancellationToken)
    {
        var log = File.Exists(LogFile) ? await File.ReadAllTextAsync(LogFile, cancellationToken).ConfigureAwait(false) : "(none)";
        return new StorageConnectionException($"PostgreSQL in {DataDirectory} did not start: {started}\nserver log:\n{log}");
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

    private static string Quote(string path) => path.Contains(' ', StringComparison.Ordinal) ? $"'{path}'" : path;
}

using System.Globalization;

namespace Storage.Tests.Support;

/// <summary>Locates the installed PostgreSQL server binaries (initdb, pg_ctl, postgres).</summary>
internal static class PostgresBinaries
{
    private const string DebianRoot = "/usr/lib/postgresql";

    public static async Task<string> FindBinDirectoryAsync(CancellationToken cancellationToken)
    {
        // pg_config may come from the client libraries alone, so its answer only counts if the server is there.
        if (FindOnPath("pg_config") is { } pgConfig)
        {
            var result = await ProcessRunner.TryRunAsync(pgConfig, ["--bindir"], cancellationToken).ConfigureAwait(false);
            var binDirectory = result.StandardOutput.Trim();
            if (result.ExitCode == 0 && HasServer(binDirectory))
            {
                return binDirectory;
            }
        }

        // Debian and Ubuntu install each major version side by side and put none of them on PATH.
        if (Directory.Exists(DebianRoot))
        {
            var newest = Directory.GetDirectories(DebianRoot)
                .Select(versionDirectory => (Version: ParseVersion(versionDirectory), Bin: Path.Combine(versionDirectory, "bin")))
                .Where(candidate => HasServer(candidate.Bin))
                .OrderByDescending(candidate => candidate.Version)
                .Select(candidate => candidate.Bin)
                .FirstOrDefault();
            if (newest is not null)
            {
                return newest;
            }
        }

        // pg_ctl looks for postgres next to itself, so follow a symlinked initdb to where the binaries really are.
        if (FindOnPath("initdb") is { } initdb)
        {
            var target = new FileInfo(initdb).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? initdb;
            var binDirectory = Path.GetDirectoryName(target)!;
            if (HasServer(binDirectory))
            {
                return binDirectory;
            }
        }

        throw new InvalidOperationException(
            "No PostgreSQL server binaries (initdb, pg_ctl) were found via pg_config, under /usr/lib/postgresql/*/bin or on PATH. "
            + "Install PostgreSQL (e.g. `apt-get install postgresql`) or set STORAGE_TEST_CONNECTION to the connection string "
            + "of a server whose user may CREATE DATABASE.");
    }

    private static bool HasServer(string binDirectory) =>
        File.Exists(Path.Combine(binDirectory, "initdb")) && File.Exists(Path.Combine(binDirectory, "pg_ctl"));

    private static double ParseVersion(string versionDirectory) =>
        double.TryParse(Path.GetFileName(versionDirectory), NumberStyles.Float, CultureInfo.InvariantCulture, out var version)
            ? version
            : -1;

    private static string? FindOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? string.Empty)
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(directory => Path.Combine(directory, name))
            .FirstOrDefault(File.Exists);
}

using System.Globalization;

namespace Storage.Connection;

/// <summary>Locates the installed PostgreSQL server programs (initdb, pg_ctl, postgres).</summary>
public static class PostgresBinaries
{
    private const string DebianRoot = "/usr/lib/postgresql";

    /// <summary>The directory holding initdb and pg_ctl, or <c>null</c> when no server is installed.</summary>
    public static async Task<string?> FindBinDirectoryAsync(CancellationToken cancellationToken)
    {
        // pg_config may come with the client libraries alone, so its answer counts only if the server is there.
        if (FindOnPath("pg_config") is { } pgConfig)
        {
            var result = await ProcessRunner.RunAsync(pgConfig, ["--bindir"], cancellationToken).ConfigureAwait(false);
            if (result.Succeeded && HasServer(result.Output))
            {
                return result.Output;
            }
        }

        // Debian and Ubuntu install each major version side by side and put none of them on PATH.
        if (Directory.Exists(DebianRoot))
        {
            var newest = Directory.GetDirectories(DebianRoot)
                .Select(version => (Version: ParseVersion(version), Bin: Path.Combine(version, "bin")))
                .Where(candidate => HasServer(candidate.Bin))
                .OrderByDescending(candidate => candidate.Version)
                .Select(candidate => candidate.Bin)
                .FirstOrDefault();
            if (newest is not null)
            {
                return newest;
            }
        }

        // pg_ctl looks for postgres beside itself, so follow a symlinked initdb to where the programs really are.
        if (FindOnPath("initdb") is { } initdb)
        {
            var target = new FileInfo(initdb).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? initdb;
            var binDirectory = Path.GetDirectoryName(target)!;
            if (HasServer(binDirectory))
            {
                return binDirectory;
            }
        }

        return null;
    }

    private static bool HasServer(string binDirectory) =>
        File.Exists(Path.Combine(binDirectory, "initdb")) && File.Exists(Path.Combine(binDirectory, "pg_ctl"));

    private static double ParseVersion(string versionDirectory) =>
        double.TryParse(Path.GetFileName(versionDirectory), NumberStyles.Float, CultureInfo.InvariantCulture, out var version) ? version : -1;

    private static string? FindOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(directory => Path.Combine(directory, name))
            .FirstOrDefault(File.Exists);
}

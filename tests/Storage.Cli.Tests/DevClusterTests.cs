using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.Versioning;
using Storage.Connection;

namespace Storage.Cli.Tests;

/// <summary>The development cluster, in a temporary directory instead of the user's: created once, started when down, reused while up.</summary>
[UnsupportedOSPlatform("windows")]
public sealed class DevClusterTests
{
    [Fact]
    public async Task A_cluster_is_created_once_started_on_a_free_port_that_it_remembers_and_reused_while_running()
    {
        var token = TestContext.Current.CancellationToken;
        var binDirectory = await PostgresBinaries.FindBinDirectoryAsync(token);
        Assert.SkipWhen(binDirectory is null, "No PostgreSQL server binaries are installed.");
        var osUser = Environment.IsPrivilegedProcess ? "postgres" : null;
        var parent = Directory.CreateTempSubdirectory("storage-cli-dev-");
        // As root the server runs as the postgres user, who must be able to enter the directory.
        parent.UnixFileMode |= UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;
        // The preferred port is taken, so the cluster must pick another and remember it.
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var cluster = new DevCluster(
            Path.Combine(parent.FullName, "postgres"), binDirectory!, osUser, preferredPort: ((IPEndPoint)taken.LocalEndpoint).Port);
        using var log = new StringWriter();
        try
        {
            var started = await cluster.EnsureRunningAsync(log, token);
            var reused = await cluster.EnsureRunningAsync(log, token);
            await StopAsync(cluster);
            taken.Stop();
            var restarted = await cluster.EnsureRunningAsync(log, token);
            var migrated = await Cli.RunAsync(started, "", "migrate");

            Assert.Equal(started, reused);
            Assert.Equal(started, restarted);
            Assert.DoesNotContain($"Port={((IPEndPoint)taken.LocalEndpoint).Port};", started, StringComparison.Ordinal);
            var lines = log.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(3, lines.Length);
            Assert.StartsWith($"storage: started a development PostgreSQL in {cluster.DataDirectory}", lines[0], StringComparison.Ordinal);
            Assert.Contains($"stop it with {cluster.StopCommand}", lines[0], StringComparison.Ordinal);
            Assert.StartsWith("storage: using the development PostgreSQL", lines[1], StringComparison.Ordinal);
            Assert.StartsWith("storage: started", lines[2], StringComparison.Ordinal);
            Assert.True(migrated.ExitCode == 0, migrated.ToString());
        }
        finally
        {
            await StopAsync(cluster);
            Npgsql.NpgsqlConnection.ClearAllPools();
            parent.Delete(recursive: true);
        }
    }

    /// <summary>Runs the stop command the tool printed, as a user would.</summary>
    private static async Task StopAsync(DevCluster cluster)
    {
        using var stop = Process.Start(new ProcessStartInfo("sh", ["-c", cluster.StopCommand]) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        await stop.WaitForExitAsync(CancellationToken.None);
    }
}

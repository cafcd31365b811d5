using Microsoft.Extensions.Configuration;
using Npgsql;
using Storage.Migrations;

namespace Storage.Cli.Connection;

/// <summary>
/// Finds the database when no --connection is given: the configured connection string (ConnectionStrings:Storage, from
/// the environment as ConnectionStrings__Storage or from an appsettings.json beside the tool); else the docker-compose
/// server if it answers; else the user's development cluster, started from the installed PostgreSQL.
/// </summary>
internal static class ConnectionResolver
{
    public const string NoServerMessage =
        "No PostgreSQL to use: nothing answers at the docker-compose default (localhost:5432), and no installed PostgreSQL server was found to start a development cluster from. "
        + "Start one with 'docker compose up -d', install PostgreSQL (e.g. 'apt-get install postgresql'), "
        + "or set ConnectionStrings__Storage (or pass --connection).";

    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(2);

    public static async Task<string> ResolveAsync(TextWriter log, CancellationToken cancellationToken)
    {
        var configuration = new ConfigurationBuilder()
            .SetBasePath(AppContext.BaseDirectory)
            .AddJsonFile("appsettings.json", optional: true)
            .AddEnvironmentVariables()
            .Build();
        if (configuration.GetConnectionString("Storage") is { Length: > 0 } configured)
        {
            return await CheckAsync(configured, "ConnectionStrings:Storage", cancellationToken);
        }

        if (await AnswersAsync(StorageMigrator.DefaultConnectionString, cancellationToken))
        {
            return StorageMigrator.DefaultConnectionString;
        }

        if (OperatingSystem.IsWindows())
        {
            throw new CliException(NoServerMessage);
        }

        var cluster = await DevCluster.ForCurrentUserAsync(cancellationToken);
        return await cluster.EnsureRunningAsync(log, cancellationToken);
    }

    /// <summary>
    /// Checks that a connection string is well formed and that a connection opens, so that a wrong one fails at once with
    /// the reason rather than after the store's retries.
    /// </summary>
    /// <param name="connectionString">The connection string.</param>
    /// <param name="source">Where it came from, for the message.</param>
    /// <param name="cancellationToken">Cancels the check.</param>
    public static async Task<string> CheckAsync(string connectionString, string source, CancellationToken cancellationToken)
    {
        NpgsqlConnectionStringBuilder probe;
        try
        {
            probe = new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false };
        }
        catch (Exception e) when (e is ArgumentException or FormatException or KeyNotFoundException)
        {
            throw new CliException($"The connection string from {source} is invalid: {e.Message}");
        }

        try
        {
            await using var connection = new NpgsqlConnection(probe.ConnectionString);
            await connection.OpenAsync(cancellationToken);
        }
        catch (NpgsqlException e)
        {
            var where = $"{probe.Host}:{probe.Port}" + (string.IsNullOrEmpty(probe.Database) ? "" : $"/{probe.Database}");
            throw new CliException($"Could not connect to PostgreSQL at {where} (from {source}): {ErrorMessages.Explain(e)}");
        }

        return connectionString;
    }

    /// <summary>Whether a connection opens within the probe timeout (a server that answers but refuses the login does not count).</summary>
    private static async Task<bool> AnswersAsync(string connectionString, CancellationToken cancellationToken)
    {
        var probe = new NpgsqlConnectionStringBuilder(connectionString)
        {
            Timeout = (int)ProbeTimeout.TotalSeconds,
            Pooling = false,
        };
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(ProbeTimeout);
        try
        {
            await using var connection = new NpgsqlConnection(probe.ConnectionString);
            await connection.OpenAsync(timeout.Token);
            return true;
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return false;
        }
    }
}

using Microsoft.Extensions.Configuration;
using Npgsql;
using Storage.Migrations;

namespace Storage.Connection;

/// <summary>
/// Finds the database when none is given explicitly: the configured connection string (<c>ConnectionStrings:Storage</c>,
/// e.g. from the environment as <c>ConnectionStrings__Storage</c> or from an appsettings.json); else the docker-compose
/// server if it answers; else the user's development cluster, started from the installed PostgreSQL.
/// </summary>
public static class ConnectionResolver
{
    /// <summary>What to do when no server can be found.</summary>
    public const string NoServerMessage =
        "No PostgreSQL to use: nothing answers at the docker-compose default (localhost:5432), and no installed PostgreSQL server was found to start a development cluster from. "
        + "Start one with 'docker compose up -d', install PostgreSQL (e.g. 'apt-get install postgresql'), "
        + "or set ConnectionStrings__Storage (or pass --connection).";

    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(2);

    /// <summary>Resolves the connection string, starting the development cluster if it comes to that.</summary>
    /// <param name="configuration">Where <c>ConnectionStrings:Storage</c> is looked up.</param>
    /// <param name="log">Told where a development cluster lives and how to stop it.</param>
    /// <param name="cancellationToken">Cancels the resolution.</param>
    /// <returns>A connection string whose connection opened.</returns>
    /// <exception cref="StorageConnectionException">No server was found or the configured one cannot be reached.</exception>
    public static async Task<string> ResolveAsync(IConfiguration configuration, TextWriter log, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        if (configuration.GetConnectionString("Storage") is { Length: > 0 } configured)
        {
            return await CheckAsync(configured, "ConnectionStrings:Storage", cancellationToken).ConfigureAwait(false);
        }

        if (await AnswersAsync(StorageMigrator.DefaultConnectionString, cancellationToken).ConfigureAwait(false))
        {
            return StorageMigrator.DefaultConnectionString;
        }

        if (OperatingSystem.IsWindows())
        {
            throw new StorageConnectionException(NoServerMessage);
        }

        var cluster = await DevCluster.ForCurrentUserAsync(cancellationToken).ConfigureAwait(false);
        return await cluster.EnsureRunningAsync(log, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Checks that a connection string is well formed and that a connection opens, so that a wrong one fails at once with
    /// the reason rather than after the store's retries.
    /// </summary>
    /// <param name="connectionString">The connection string.</param>
    /// <param name="source">Where it came from, for the message.</param>
    /// <param name="cancellationToken">Cancels the check.</param>
    /// <returns><paramref name="connectionString"/>.</returns>
    /// <exception cref="StorageConnectionException">The connection string is malformed or no connection opens.</exception>
    public static async Task<string> CheckAsync(string connectionString, string source, CancellationToken cancellationToken = default)
    {
        NpgsqlConnectionStringBuilder probe;
        try
        {
            probe = new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false };
        }
        catch (Exception e) when (e is ArgumentException or FormatException or KeyNotFoundException)
        {
            throw new StorageConnectionException($"The connection string from {source} is invalid: {e.Message}", e);
        }

        try
        {
            await using var connection = new NpgsqlConnection(probe.ConnectionString);
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (NpgsqlException e)
        {
            var where = $"{probe.Host}:{probe.Port}" + (string.IsNullOrEmpty(probe.Database) ? "" : $"/{probe.Database}");
            throw new StorageConnectionException($"Could not connect to PostgreSQL at {where} (from {source}): {PostgresErrors.Explain(e)}", e);
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
            await connection.OpenAsync(timeout.Token).ConfigureAwait(false);
            return true;
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return false;
        }
    }
}

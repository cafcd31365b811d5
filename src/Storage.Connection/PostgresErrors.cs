using Npgsql;

namespace Storage.Connection;

/// <summary>Describes database failures for people, without quoting stored values.</summary>
public static class PostgresErrors
{
    private const string UndefinedTable = "42P01";

    /// <summary>What went wrong with the database, on one line, without quoting stored values.</summary>
    public static string Explain(NpgsqlException error)
    {
        ArgumentNullException.ThrowIfNull(error);
        return error switch
        {
            PostgresException { SqlState: UndefinedTable } => "The database has no storage tables yet: run 'storage migrate' first.",
            // Logins, missing databases and server shutdowns are described without any stored values, so their text may show.
            PostgresException postgres when IsAboutTheConnection(postgres.SqlState) => $"{postgres.SqlState}: {postgres.MessageText}.",
            PostgresException postgres => $"PostgreSQL error {postgres.SqlState}.",
            _ => string.Join(": ", Chain(error).Select(e => e.Message.TrimEnd('.')).Distinct()) + ".",
        };
    }

    private static bool IsAboutTheConnection(string sqlState) =>
        sqlState.StartsWith("08", StringComparison.Ordinal)      // connection exception
        || sqlState.StartsWith("28", StringComparison.Ordinal)   // invalid authorization
        || sqlState.StartsWith("3D", StringComparison.Ordinal)   // invalid catalog (no such database)
        || sqlState.StartsWith("53", StringComparison.Ordinal)   // insufficient resources
        || sqlState.StartsWith("57P", StringComparison.Ordinal); // shutting down

    private static IEnumerable<Exception> Chain(Exception error)
    {
        for (var current = error; current is not null; current = current.InnerException)
        {
            yield return current;
        }
    }
}

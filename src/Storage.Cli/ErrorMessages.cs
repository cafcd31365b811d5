using Npgsql;

namespace Storage.Cli;

/// <summary>Turns a failure into one line for the user.</summary>
internal static class ErrorMessages
{
    private const string UndefinedTable = "42P01";

    public static string Describe(Exception error) => (error switch
    {
        CliException => error.Message,
        ChatCompletionNotFoundException notFound =>
            $"No stored completion has the id '{notFound.Id}'{(notFound.ParameterName == "after" ? " (given as --after)" : "")}.",
        // The store's own message names the operation and the SQLSTATE but, by design, no server text.
        ChatCompletionStoreException => error.Message + (Find<NpgsqlException>(error) is { } cause ? " " + Explain(cause) : ""),
        _ when Find<NpgsqlException>(error) is { } cause => "Could not use the database: " + Explain(cause),
        _ => error.Message,
    }).ReplaceLineEndings(" ").Trim();

    /// <summary>What went wrong with the database, without quoting stored values.</summary>
    public static string Explain(NpgsqlException error) => error switch
    {
        PostgresException { SqlState: UndefinedTable } => "The database has no storage tables yet: run 'storage migrate' first.",
        // Logins, missing databases and server shutdowns are described without any stored values, so their text may show.
        PostgresException postgres when IsAboutTheConnection(postgres.SqlState) => $"{postgres.SqlState}: {postgres.MessageText}.",
        PostgresException postgres => $"PostgreSQL error {postgres.SqlState}.",
        _ => string.Join(": ", Chain(error).Select(e => e.Message.TrimEnd('.')).Distinct()) + ".",
    };

    private static bool IsAboutTheConnection(string sqlState) =>
        sqlState.StartsWith("08", StringComparison.Ordinal)      // connection exception
        || sqlState.StartsWith("28", StringComparison.Ordinal)   // invalid authorization
        || sqlState.StartsWith("3D", StringComparison.Ordinal)   // invalid catalog (no such database)
        || sqlState.StartsWith("53", StringComparison.Ordinal)   // insufficient resources
        || sqlState.StartsWith("57P", StringComparison.Ordinal); // shutting down

    private static T? Find<T>(Exception error)
        where T : Exception => Chain(error).OfType<T>().FirstOrDefault();

    private static IEnumerable<Exception> Chain(Exception error)
    {
        for (var current = error; current is not null; current = current.InnerException)
        {
            yield return current;
        }
    }
}

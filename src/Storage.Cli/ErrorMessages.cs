using Npgsql;
using Storage.Connection;

namespace Storage.Cli;

/// <summary>Turns a failure into one line for the user.</summary>
internal static class ErrorMessages
{
    public static string Describe(Exception error) => (error switch
    {
        CliException or StorageConnectionException => error.Message,
        ChatCompletionNotFoundException notFound =>
            $"No stored completion has the id '{notFound.Id}'{(notFound.ParameterName == "after" ? " (given as --after)" : "")}.",
        // The store's own message names the operation and the SQLSTATE but, by design, no server text.
        ChatCompletionStoreException => error.Message + (Find<NpgsqlException>(error) is { } cause ? " " + PostgresErrors.Explain(cause) : ""),
        _ when Find<NpgsqlException>(error) is { } cause => "Could not use the database: " + PostgresErrors.Explain(cause),
        _ => error.Message,
    }).ReplaceLineEndings(" ").Trim();

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

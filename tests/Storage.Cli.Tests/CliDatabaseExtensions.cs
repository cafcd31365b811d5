namespace Storage.Cli.Tests;

/// <summary>Runs the tool in-process against a test class's database.</summary>
public static class CliDatabaseExtensions
{
    public static Task<CliResult> RunAsync(this MigratedDatabase database, params string[] args) => Cli.RunAsync(database.ConnectionString, "", args);

    /// <summary>Runs the tool with <paramref name="stdin"/> as its standard input.</summary>
    public static Task<CliResult> RunWithInputAsync(this MigratedDatabase database, string stdin, params string[] args) =>
        Cli.RunAsync(database.ConnectionString, stdin, args);

    /// <summary>Runs the tool with <paramref name="stdin"/>'s bytes as its standard input.</summary>
    public static Task<CliResult> RunWithInputAsync(this MigratedDatabase database, byte[] stdin, params string[] args) =>
        Cli.RunAsync(database.ConnectionString, stdin, args);
}

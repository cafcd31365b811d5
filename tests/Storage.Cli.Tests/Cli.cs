using System.Text;

namespace Storage.Cli.Tests;

/// <summary>What one run of the tool did.</summary>
public sealed record CliResult(int ExitCode, string Out, string Error)
{
    /// <summary>The lines of standard output, without blank ones.</summary>
    public IReadOnlyList<string> OutLines => Out.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    public override string ToString() => $"exit {ExitCode}\nstdout:\n{Out}\nstderr:\n{Error}";
}

/// <summary>Runs the tool in-process, as the entry point does, with captured standard streams.</summary>
public static class Cli
{
    public static Task<CliResult> RunAsync(string? connectionString, string stdin, params string[] args) =>
        RunAsync(connectionString, Encoding.UTF8.GetBytes(stdin), args);

    /// <summary>Runs the tool with standard input given as bytes, which need not be valid UTF-8.</summary>
    public static async Task<CliResult> RunAsync(string? connectionString, byte[] stdin, params string[] args)
    {
        using var input = new MemoryStream(stdin, writable: false);
        using var output = new StringWriter();
        using var error = new StringWriter();
        string[] arguments = connectionString is null ? args : [.. args, "--connection", connectionString];
        var exitCode = await CliApp.RunAsync(arguments, input, output, error, TestContext.Current.CancellationToken);
        return new CliResult(exitCode, output.ToString(), error.ToString());
    }

    /// <summary>Asserts a failure reported the way the tool promises: a non-zero exit and one line on stderr, no stack trace.</summary>
    public static void AssertCleanFailure(CliResult result, int exitCode = 1)
    {
        Assert.True(result.ExitCode == exitCode, result.ToString());
        var lines = result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 1, result.ToString());
        Assert.DoesNotContain("   at ", result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", result.Error, StringComparison.Ordinal);
    }
}

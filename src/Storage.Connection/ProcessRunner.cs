using System.Diagnostics;

namespace Storage.Connection;

/// <summary>What a finished process did.</summary>
internal sealed record ProcessResult(string CommandLine, int ExitCode, string StandardOutput, string StandardError)
{
    public bool Succeeded => ExitCode == 0;

    /// <summary>Standard output then standard error, trimmed.</summary>
    public string Output => (StandardOutput + StandardError).Trim();

    public override string ToString() =>
        $"`{CommandLine}` exited with code {ExitCode}.\nstdout:\n{StandardOutput}\nstderr:\n{StandardError}";
}

/// <summary>Runs the PostgreSQL tools (and id, chown, runuser, kill) to completion, capturing what they print.</summary>
internal static class ProcessRunner
{
    /// <summary>Runs a process to completion and returns its exit code and output, whatever the exit code.</summary>
    /// <param name="fileName">The program.</param>
    /// <param name="arguments">Its arguments.</param>
    /// <param name="cancellationToken">Kills the process.</param>
    /// <param name="environment">Variables to add to the process's environment (a password, kept off the command line).</param>
    public static async Task<ProcessResult> RunAsync(
        string fileName, IEnumerable<string> arguments, CancellationToken cancellationToken, IReadOnlyDictionary<string, string>? environment = null)
    {
        var startInfo = new ProcessStartInfo(fileName, arguments)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            // Tools run as another OS user must be able to enter their working directory.
            WorkingDirectory = "/",
        };
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            startInfo.Environment[name] = value;
        }

        var commandLine = string.Join(' ', [fileName, .. startInfo.ArgumentList]);
        using var process = Process.Start(startInfo) ?? throw new StorageConnectionException($"Could not start {commandLine}.");
        // Nothing run here reads input; an open stdin could only make a tool wait for a prompt.
        process.StandardInput.Close();
        var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var error = process.StandardError.ReadToEndAsync(cancellationToken);
        try
        {
            await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        return new ProcessResult(commandLine, process.ExitCode, await output.ConfigureAwait(false), await error.ConfigureAwait(false));
    }
}

using System.Diagnostics;

namespace Storage.Tests.Support;

internal sealed record ProcessResult(string CommandLine, int ExitCode, string StandardOutput, string StandardError)
{
    public ProcessResult EnsureSuccess() =>
        ExitCode == 0 ? this : throw new InvalidOperationException(ToString());

    public override string ToString() =>
        $"`{CommandLine}` exited with code {ExitCode}.\nstdout:\n{StandardOutput}\nstderr:\n{StandardError}";
}

internal static class ProcessRunner
{
    /// <summary>Runs a process to completion and throws, with its output, if it exits non-zero.</summary>
    public static async Task<ProcessResult> RunAsync(
        string fileName, IEnumerable<string> arguments, CancellationToken cancellationToken, string? workingDirectory = null) =>
        (await TryRunAsync(fileName, arguments, cancellationToken, workingDirectory).ConfigureAwait(false)).EnsureSuccess();

    /// <summary>Runs a process to completion and returns its exit code and output whatever the exit code.</summary>
    public static async Task<ProcessResult> TryRunAsync(
        string fileName, IEnumerable<string> arguments, CancellationToken cancellationToken, string? workingDirectory = null)
    {
        var startInfo = new ProcessStartInfo(fileName, arguments)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = workingDirectory ?? string.Empty,
        };
        var commandLine = string.Join(' ', [fileName, .. startInfo.ArgumentList]);

        using var process = Process.Start(startInfo)
            ?? throw new InvalidOperationException($"Could not start `{commandLine}`.");
        // Nothing we run reads input; an open stdin could only make a tool wait for a prompt.
        process.StandardInput.Close();
        var standardOutput = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var standardError = process.StandardError.ReadToEndAsync(cancellationToken);
        try
        {
            await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        return new ProcessResult(
            commandLine,
            process.ExitCode,
            await standardOutput.ConfigureAwait(false),
            await standardError.ConfigureAwait(false));
    }
}

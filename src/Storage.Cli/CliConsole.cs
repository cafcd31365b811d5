namespace Storage.Cli;

/// <summary>The streams a command reads and writes; tests pass their own.</summary>
/// <param name="In">Standard input, read by <c>import -</c> as bytes, so invalid UTF-8 is seen and refused rather than decoded.</param>
/// <param name="Out">Standard output: the command's result.</param>
/// <param name="Error">Standard error: diagnostics, rejected items, progress.</param>
/// <param name="ShowProgress">Whether standard error is a terminal, where a progress line may be redrawn.</param>
internal sealed record CliConsole(Stream In, TextWriter Out, TextWriter Error, bool ShowProgress = false);

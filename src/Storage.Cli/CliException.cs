namespace Storage.Cli;

/// <summary>A failure the user can act on; its message is printed as it is, on one line.</summary>
internal sealed class CliException(string message) : Exception(message);

namespace Storage.Cli;

/// <summary>The tool's exit codes.</summary>
internal static class ExitCodes
{
    public const int Success = 0;

    /// <summary>Something failed or was not found, or an import rejected items.</summary>
    public const int Failure = 1;

    /// <summary>The command line was wrong.</summary>
    public const int Usage = 2;

    /// <summary>Interrupted (128 + SIGINT, as shells report it).</summary>
    public const int Cancelled = 130;
}

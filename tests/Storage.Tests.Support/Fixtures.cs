namespace Storage.Tests.Support;

/// <summary>Finds the completion bodies the tests read: the shared public fixtures beside the clone, and the project's own samples.</summary>
public static class Fixtures
{
    public static string? SharedCompletionsDirectory { get; } = FindUp(Path.Combine("..", "shared", "fixtures", "completions"));

    public static string SamplesDirectory { get; } = FindUp(Path.Combine("src", "samples", "completions"))
        ?? throw new InvalidOperationException("src/samples/completions not found above the test binaries.");

    public static IEnumerable<string> SharedCompletionFiles =>
        SharedCompletionsDirectory is null ? [] : Directory.EnumerateFiles(SharedCompletionsDirectory, "*.json").Order(StringComparer.Ordinal);

    public static IEnumerable<string> SampleFiles => Directory.EnumerateFiles(SamplesDirectory, "*.json").Order(StringComparer.Ordinal);

    public static string Read(string file) => File.ReadAllText(file);

    /// <summary>The shared fixtures (when present) and the samples.</summary>
    public static IReadOnlyList<string> AllCompletionFiles => [.. SharedCompletionFiles, .. SampleFiles];

    // The repository root is the first directory above the binaries that holds Storage.sln.
    private static string? FindUp(string relative)
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Storage.sln")))
            {
                var candidate = Path.GetFullPath(Path.Combine(directory.FullName, relative));
                return Directory.Exists(candidate) ? candidate : null;
            }
        }

        return null;
    }
}

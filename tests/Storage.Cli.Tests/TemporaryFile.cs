namespace Storage.Cli.Tests;

/// <summary>A temporary file with the given contents, deleted when disposed.</summary>
public sealed class TemporaryFile : IDisposable
{
    public TemporaryFile(string extension, string contents)
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"storage-cli-test-{Guid.NewGuid():N}{extension}");
        System.IO.File.WriteAllText(Path, contents);
    }

    /// <summary>A temporary file holding exactly these bytes, which need not be valid UTF-8.</summary>
    public TemporaryFile(string extension, byte[] contents)
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"storage-cli-test-{Guid.NewGuid():N}{extension}");
        System.IO.File.WriteAllBytes(Path, contents);
    }

    public string Path { get; }

    public void Dispose() => System.IO.File.Delete(Path);
}

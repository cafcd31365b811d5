using Microsoft.Playwright;

namespace Storage.Console.Tests;

/// <summary>One test's browser context and page; disposing it closes the context.</summary>
public sealed class ConsoleSession(IBrowserContext context, IPage page) : IAsyncDisposable
{
    /// <summary>Where each test's screenshot goes: <c>artifacts/console/</c> at the repository's root.</summary>
    private static readonly string ScreenshotDirectory = Path.Combine(RepositoryRoot(), "artifacts", "console");

    public IPage Page { get; } = page;

    public async Task LogInAsync(string key)
    {
        await Page.GotoAsync("/console/login");
        await Page.GetByLabel("API key").FillAsync(key);
        await Page.GetByRole(AriaRole.Button, new() { Name = "Log in" }).ClickAsync();
    }

    /// <summary>Writes the whole page as <c>artifacts/console/NAME.png</c>.</summary>
    public async Task ScreenshotAsync(string name)
    {
        Directory.CreateDirectory(ScreenshotDirectory);
        await Page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(ScreenshotDirectory, name + ".png"), FullPage = true });
    }

    public ValueTask DisposeAsync() => new(context.CloseAsync());

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Storage.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"No Storage.sln above {AppContext.BaseDirectory}: the screenshots have no repository to go to.");
    }
}

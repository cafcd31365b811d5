using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Playwright;
using Npgsql;
using Storage.Api;
using Storage.Migrations;

namespace Storage.Console.Tests;

/// <summary>
/// For the console's test class: a migrated database of its own, the API started in-process on a loopback port with two
/// keys (the default store, tenant <c>acme</c>), the store itself to seed and check, and one headless Chromium for the
/// whole class (each test opens its own browser context, so cookies never leak between tests).
/// </summary>
public sealed class ConsoleFixture(PostgresFixture postgres) : IAsyncLifetime
{
    public const string DefaultKey = "sk-console-default";
    public const string AcmeKey = "sk-console-acme";
    public const string AcmeTenant = "acme";

    /// <summary>Generous, for a loaded CI machine; every wait is bounded by it.</summary>
    private const float TimeoutMs = 20_000;

    private readonly string _name = $"storage_console_test_{Guid.NewGuid():N}";
    private WebApplication? _app;
    private IPlaywright? _playwright;

    public string ConnectionString { get; private set; } = "";

    public Uri BaseAddress { get; private set; } = null!;

    /// <summary>The default store, as the default key sees it.</summary>
    public ChatCompletionStore Store { get; private set; } = null!;

    public IBrowser Browser { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        var token = TestContext.Current.CancellationToken;
        var chromium = ChromiumPath();
        ConnectionString = await postgres.Server.CreateDatabaseAsync(_name, token);
        await StorageMigrator.MigrateAsync(ConnectionString, token);
        _app = await StartApiAsync(new Dictionary<string, string?>
        {
            ["ConnectionStrings:Storage"] = ConnectionString,
            ["Urls"] = "http://127.0.0.1:0",
            ["Api:Keys:0:Key"] = DefaultKey,
            ["Api:Keys:1:Key"] = AcmeKey,
            ["Api:Keys:1:Tenant"] = AcmeTenant,
        }, token);
        BaseAddress = new Uri(_app.Urls.First());
        Store = new ChatCompletionStore(ConnectionString);
        Assertions.SetDefaultExpectTimeout(TimeoutMs);
        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions { ExecutablePath = chromium, Headless = true, Timeout = TimeoutMs });
    }

    /// <summary>Builds and starts the API with these settings on top of its defaults.</summary>
    public static async Task<WebApplication> StartApiAsync(IDictionary<string, string?> settings, CancellationToken cancellationToken)
    {
        var app = await ApiApp.BuildAsync([], builder =>
        {
            builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["Logging:LogLevel:Default"] = "Warning" });
            builder.Configuration.AddInMemoryCollection(settings);
        }, cancellationToken);
        await app.StartAsync(cancellationToken);
        return app;
    }

    /// <summary>
    /// A browser context of its own on <paramref name="baseAddress"/> (the fixture's API by default), signed in with the
    /// key unless it is <c>null</c>. JavaScript is off unless asked for: the console must work without it.
    /// </summary>
    public async Task<ConsoleSession> OpenAsync(string? key = DefaultKey, bool javaScript = false, Uri? baseAddress = null)
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = (baseAddress ?? BaseAddress).AbsoluteUri,
            JavaScriptEnabled = javaScript,
            ViewportSize = new ViewportSize { Width = 1000, Height = 800 },
        });
        context.SetDefaultTimeout(TimeoutMs);
        context.SetDefaultNavigationTimeout(TimeoutMs);
        var session = new ConsoleSession(context, await context.NewPageAsync());
        if (key is not null)
        {
            await session.LogInAsync(key);
            await Assertions.Expect(session.Page).ToHaveURLAsync(new Uri(baseAddress ?? BaseAddress, "/console").AbsoluteUri);
        }

        return session;
    }

    public async ValueTask DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.DisposeAsync();
        }

        _playwright?.Dispose();
        if (_app is not null)
        {
            await _app.StopAsync(CancellationToken.None);
            await _app.DisposeAsync();
        }

        if (Store is not null)
        {
            await Store.DisposeAsync();
        }

        NpgsqlConnection.ClearAllPools();
        await postgres.Server.DropDatabaseAsync(_name, CancellationToken.None);
    }

    /// <summary>
    /// Debian's Chromium, or the one <c>STORAGE_TEST_CHROMIUM</c> names. Playwright never downloads a browser here; a
    /// missing one fails the tests with what to do, and is never a reason to skip them.
    /// </summary>
    private static string ChromiumPath()
    {
        var configured = Environment.GetEnvironmentVariable("STORAGE_TEST_CHROMIUM");
        var path = string.IsNullOrWhiteSpace(configured) ? "/usr/bin/chromium" : configured;
        return File.Exists(path)
            ? path
            : throw new InvalidOperationException(
                $"The console tests drive Chromium, and there is none at {path}. Install it (apt-get install chromium) or set STORAGE_TEST_CHROMIUM to its executable.");
    }
}

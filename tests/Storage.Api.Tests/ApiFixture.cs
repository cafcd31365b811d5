using System.ClientModel;
using System.Net.Http.Headers;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Npgsql;
using OpenAI;
using OpenAI.Chat;
using Storage.Migrations;

namespace Storage.Api.Tests;

/// <summary>
/// For one test class: a migrated database of its own, a fake upstream, and the API started in-process on a loopback
/// port with three keys (the default store, tenant <c>acme</c>, and tenant <c>globex</c> given as a hash).
/// </summary>
public sealed class ApiFixture(PostgresFixture postgres) : IAsyncLifetime
{
    public const string DefaultKey = "sk-test-default";
    public const string AcmeKey = "sk-test-acme";
    public const string GlobexKey = "sk-test-globex";
    public const string UpstreamKey = "sk-upstream-secret";
    public const int MaxRequestBodyBytes = 256 * 1024;

    private readonly string _name = $"storage_api_test_{Guid.NewGuid():N}";
    private WebApplication? _app;

    public string ConnectionString { get; private set; } = "";

    public FakeOpenAIServer Upstream { get; private set; } = null!;

    public Uri BaseAddress { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        var token = TestContext.Current.CancellationToken;
        ConnectionString = await postgres.Server.CreateDatabaseAsync(_name, token);
        await StorageMigrator.MigrateAsync(ConnectionString, token);
        Upstream = await FakeOpenAIServer.StartAsync(token);
        _app = await StartApiAsync(new Dictionary<string, string?>
        {
            ["ConnectionStrings:Storage"] = ConnectionString,
            ["Urls"] = "http://127.0.0.1:0",
            ["Api:MaxRequestBodyBytes"] = MaxRequestBodyBytes.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Api:Keys:0:Key"] = DefaultKey,
            ["Api:Keys:1:Key"] = AcmeKey,
            ["Api:Keys:1:Tenant"] = "acme",
            ["Api:Keys:2:KeyHash"] = Sha256Hex(GlobexKey),
            ["Api:Keys:2:Tenant"] = "globex",
            ["Api:Upstream:BaseUrl"] = Upstream.BaseUrl.AbsoluteUri,
            ["Api:Upstream:ApiKey"] = UpstreamKey,
        }, token);
        BaseAddress = new Uri(_app.Urls.First());
    }

    /// <summary>Builds and starts the API with these settings on top of its defaults.</summary>
    public static async Task<WebApplication> StartApiAsync(IDictionary<string, string?> settings, CancellationToken cancellationToken)
    {
        var app = await ApiApp.BuildAsync([], builder =>
        {
            builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["Logging:LogLevel:Default"] = "Warning", ["Logging:LogLevel:System.Net.Http.HttpClient"] = "Warning" });
            builder.Configuration.AddInMemoryCollection(settings);
        }, cancellationToken);
        await app.StartAsync(cancellationToken);
        return app;
    }

    /// <summary>The official SDK's chat client, pointed at the API with this key.</summary>
    public ChatClient Client(string key = DefaultKey) =>
        new("gpt-4o-mini", new ApiKeyCredential(key), new OpenAIClientOptions { Endpoint = new Uri(BaseAddress, "v1") });

    /// <summary>A plain HTTP client for the API, with this key as bearer token unless null.</summary>
    public HttpClient Http(string? key = DefaultKey)
    {
        var http = new HttpClient { BaseAddress = BaseAddress };
        if (key is not null)
        {
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        return http;
    }

    /// <summary>Imports completions through the API's bulk endpoint, asserting that every one was accepted.</summary>
    public async Task ImportAsync(string key, IEnumerable<string> completions)
    {
        using var http = Http(key);
        using var content = new StringContent(TestCompletions.Lines(completions), System.Text.Encoding.UTF8, "application/x-ndjson");
        using var response = await http.PostAsync("/v1/storage/import", content, TestContext.Current.CancellationToken);
        var body = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        Assert.True(response.IsSuccessStatusCode, body);
        Assert.Contains("\"rejected\":0", body, StringComparison.Ordinal);
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync(CancellationToken.None);
            await _app.DisposeAsync();
        }

        if (Upstream is not null)
        {
            await Upstream.DisposeAsync();
        }

        NpgsqlConnection.ClearAllPools();
        await postgres.Server.DropDatabaseAsync(_name, CancellationToken.None);
    }

    /// <summary>The hex SHA-256 of a key, as <c>Api:Keys:N:KeyHash</c> takes it.</summary>
    private static string Sha256Hex(string key) =>
        Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(key)));
}

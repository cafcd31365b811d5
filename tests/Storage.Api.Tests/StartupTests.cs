using System.Net;

namespace Storage.Api.Tests;

/// <summary>What the API checks before it serves: keys, and anonymous access only on loopback.</summary>
public sealed class StartupTests(PostgresFixture postgres)
{
    [Theory]
    [InlineData("http://0.0.0.0:0")]
    [InlineData("http://*:0")]
    [InlineData("http://+:0")]
    [InlineData("http://127.0.0.1:0;http://192.168.1.10:0")]
    public async Task Without_keys_it_refuses_to_listen_beyond_loopback(string urls)
    {
        var error = await Assert.ThrowsAsync<ApiConfigurationException>(() => ApiFixture.StartApiAsync(
            new Dictionary<string, string?> { ["Urls"] = urls, ["ConnectionStrings:Storage"] = postgres.Server.ConnectionString },
            TestContext.Current.CancellationToken));

        Assert.Contains("Api:Keys", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_keys_on_loopback_it_serves_anonymously()
    {
        var token = TestContext.Current.CancellationToken;
        var name = $"storage_api_anonymous_{Guid.NewGuid():N}";
        var connectionString = await postgres.Server.CreateDatabaseAsync(name, token);
        try
        {
            await Storage.Migrations.StorageMigrator.MigrateAsync(connectionString, token);
            await using var app = await ApiFixture.StartApiAsync(
                new Dictionary<string, string?> { ["Urls"] = "http://127.0.0.1:0", ["ConnectionStrings:Storage"] = connectionString }, token);
            using var http = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };

            using var response = await http.GetAsync("/v1/chat/completions", token);

            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            await app.StopAsync(token);
        }
        finally
        {
            Npgsql.NpgsqlConnection.ClearAllPools();
            await postgres.Server.DropDatabaseAsync(name, CancellationToken.None);
        }
    }

    [Theory]
    [InlineData("Api:Keys:0:KeyHash", "not-a-hash")]
    [InlineData("Api:Keys:0:Tenant", "")]
    public async Task A_malformed_key_entry_stops_the_start_naming_the_setting(string setting, string value)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Urls"] = "http://127.0.0.1:0",
            ["ConnectionStrings:Storage"] = postgres.Server.ConnectionString,
            [setting] = value,
        };
        if (setting != "Api:Keys:0:KeyHash")
        {
            settings["Api:Keys:0:Key"] = "sk-some-key";
        }

        var error = await Assert.ThrowsAsync<ApiConfigurationException>(() => ApiFixture.StartApiAsync(settings, TestContext.Current.CancellationToken));

        Assert.Contains("Api:Keys:0", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("http://127.0.0.1:5080", true)]
    [InlineData("http://localhost:5080", true)]
    [InlineData("http://[::1]:5080", true)]
    [InlineData("https://127.0.0.2:443/", true)]
    [InlineData("http://0.0.0.0:5080", false)]
    [InlineData("http://[::]:5080", false)]
    [InlineData("http://*:5080", false)]
    [InlineData("http://example.com:80", false)]
    public void Loopback_addresses_are_told_apart_from_the_rest(string url, bool loopback) =>
        Assert.Equal(loopback, ApiApp.IsLoopback(url));
}

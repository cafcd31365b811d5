using Storage.Tests.Support;

[assembly: AssemblyFixture(typeof(Storage.Cli.Tests.PostgresFixture))]

namespace Storage.Cli.Tests;

/// <summary>One PostgreSQL server for the whole run; each test class gets its own database on it.</summary>
public sealed class PostgresFixture : IAsyncLifetime
{
    private PostgresServer? _server;

    public PostgresServer Server => _server ?? throw new InvalidOperationException("The PostgreSQL fixture has not started.");

    public async ValueTask InitializeAsync() => _server = await PostgresServer.StartAsync(TestContext.Current.CancellationToken);

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}

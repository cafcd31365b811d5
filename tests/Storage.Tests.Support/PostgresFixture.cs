using Xunit;

namespace Storage.Tests.Support;

/// <summary>
/// One PostgreSQL server for a whole test assembly (declare it with <c>[assembly: AssemblyFixture(typeof(PostgresFixture))]</c>);
/// each test class gets its own database on it.
/// </summary>
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

using System.Diagnostics;
using Npgsql;
using Storage.Migrations;

namespace Storage.Tests;

/// <summary>
/// The migrations as a service gets them from the packed Storage package: .ci/run packs it, builds samples/ChatService
/// against it, runs <c>dotnet ef migrations script --idempotent</c> and <c>migrations bundle</c> in the sample's folder
/// and passes what they wrote in STORAGE_SAMPLE_SCRIPT and STORAGE_SAMPLE_BUNDLE.
/// </summary>
public sealed class SampleScriptTests(PostgresFixture postgres)
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task The_script_dotnet_ef_writes_in_a_service_builds_a_database_the_store_works_on()
    {
        var path = FromCi("STORAGE_SAMPLE_SCRIPT");
        var script = await File.ReadAllTextAsync(path, Token);
        // The repository's own script (CI writes both with dotnet ef) is the same: the package carries the same migrations.
        if (Environment.GetEnvironmentVariable("STORAGE_IDEMPOTENT_SCRIPT") is { Length: > 0 } repositoryScript)
        {
            Assert.Equal(await File.ReadAllTextAsync(repositoryScript, Token), script);
        }

        await OnFreshDatabaseAsync(async (_, dataSource) =>
        {
            for (var run = 0; run < 2; run++)
            {
                await using var command = dataSource.CreateCommand(script);
                await command.ExecuteNonQueryAsync(Token);
            }

            await AssertTheStoreWorksAsync(dataSource);
        });
    }

    [Fact]
    public async Task The_bundle_dotnet_ef_builds_in_a_service_builds_a_database_the_store_works_on()
    {
        var bundle = FromCi("STORAGE_SAMPLE_BUNDLE");

        await OnFreshDatabaseAsync(async (connectionString, dataSource) =>
        {
            using var process = Process.Start(new ProcessStartInfo(bundle, ["--connection", connectionString])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            })!;
            var output = process.StandardOutput.ReadToEndAsync(Token);
            var error = process.StandardError.ReadToEndAsync(Token);
            await process.WaitForExitAsync(Token);
            Assert.True(process.ExitCode == 0, $"the bundle exited with {process.ExitCode}:\n{await output}\n{await error}");

            await AssertTheStoreWorksAsync(dataSource);
        });
    }

    private static string FromCi(string variable)
    {
        var path = Environment.GetEnvironmentVariable(variable);
        Assert.SkipWhen(
            string.IsNullOrEmpty(path) && Environment.GetEnvironmentVariable("CI") is null,
            $"{variable} is unset: .ci/run packs the Storage package, builds samples/ChatService against it and sets it");
        Assert.False(string.IsNullOrEmpty(path), $"{variable} is unset: .ci/run must set it");
        return path;
    }

    private async Task OnFreshDatabaseAsync(Func<string, NpgsqlDataSource, Task> test)
    {
        var name = $"storage_sample_{Guid.NewGuid():N}";
        try
        {
            var connectionString = await postgres.Server.CreateDatabaseAsync(name, Token);
            await using var dataSource = NpgsqlDataSource.Create(connectionString);
            await test(connectionString, dataSource);
        }
        finally
        {
            NpgsqlConnection.ClearAllPools();
            await postgres.Server.DropDatabaseAsync(name, CancellationToken.None);
        }
    }

    private static async Task AssertTheStoreWorksAsync(NpgsqlDataSource dataSource)
    {
        // Every migration is recorded: applying them from code finds nothing left to do.
        var applied = await HistoryCountAsync(dataSource);
        Assert.True(applied >= 1);
        await StorageMigrator.MigrateAsync(dataSource, Token);
        Assert.Equal(applied, await HistoryCountAsync(dataSource));

        await using var store = new ChatCompletionStore(dataSource);
        var completion = TestCompletions.Completion(choices: 2);
        Assert.Equal(SaveOutcome.Stored, await store.SaveAsync(completion, Token));
        Assert.Equal(SaveOutcome.AlreadyStored, await store.SaveAsync(completion, Token));
        var stored = await store.GetAsync(completion.Id, Token);
        Assert.NotNull(stored);
        JsonAssert.SemanticallyEqual(ChatCompletionJson.Serialize(completion), ChatCompletionJson.Serialize(stored));
        var page = await store.ListAsync(cancellationToken: Token);
        Assert.Equal(completion.Id, Assert.Single(page.Items).Id);
    }

    private static async Task<long> HistoryCountAsync(NpgsqlDataSource dataSource)
    {
        await using var count = dataSource.CreateCommand("SELECT count(*) FROM \"__EFMigrationsHistory\"");
        return (long)(await count.ExecuteScalarAsync(Token))!;
    }
}

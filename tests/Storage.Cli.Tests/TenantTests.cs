namespace Storage.Cli.Tests;

/// <summary><c>--tenant</c>: every command works on that tenant's completions only.</summary>
public sealed class TenantTests(MigratedDatabase database) : IClassFixture<MigratedDatabase>
{
    private static readonly DateTimeOffset Created = DateTimeOffset.FromUnixTimeSeconds(1_764_100_000);

    [Fact]
    public async Task Commands_with_a_tenant_see_only_that_tenants_completions()
    {
        var body = TestCompletions.Json("tenant-cli-one", Created, usage: (3, 4));
        var imported = await database.RunWithInputAsync(body, "import", "-", "--tenant", "acme");
        Assert.True(imported.ExitCode == 0, imported.ToString());

        var acmeGet = await database.RunAsync("get", "tenant-cli-one", "--tenant", "acme");
        var otherGet = await database.RunAsync("get", "tenant-cli-one", "--tenant", "globex");
        var unscopedGet = await database.RunAsync("get", "tenant-cli-one");
        var acmeList = await database.RunAsync("list", "--tenant", "acme");
        var otherDelete = await database.RunAsync("delete", "tenant-cli-one", "--tenant", "globex");
        var acmeUsage = await database.RunAsync("usage", "--tenant", "acme", "--json");

        JsonAssert.SemanticallyEqual(body, acmeGet.Out);
        Cli.AssertCleanFailure(otherGet);
        Cli.AssertCleanFailure(unscopedGet);
        Assert.Contains("tenant-cli-one", acmeList.Out, StringComparison.Ordinal);
        Cli.AssertCleanFailure(otherDelete);
        Assert.Contains("\"completions\":1", acmeUsage.Out.Replace(" ", "", StringComparison.Ordinal), StringComparison.Ordinal);
        Assert.Equal(0, (await database.RunAsync("delete", "tenant-cli-one", "--tenant", "acme")).ExitCode);
    }

    [Fact]
    public async Task An_unstorable_tenant_is_a_clean_failure()
    {
        var result = await database.RunAsync("list", "--tenant", "");

        Cli.AssertCleanFailure(result);
    }
}

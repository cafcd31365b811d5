namespace Storage.Cli.Tests;

/// <summary>Failures are one line on stderr and a non-zero exit, never a stack trace; every command has help.</summary>
public sealed class ErrorTests(PostgresFixture postgres)
{
    public static TheoryData<string> Commands() =>
        ["migrate", "import", "get", "list", "update-metadata", "delete", "usage", "export", "prune", "demo"];

    [Theory]
    [MemberData(nameof(Commands))]
    public async Task Every_command_has_help(string command)
    {
        var result = await Cli.RunAsync(null, "", command, "--help");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains($"storage {command}", result.Out, StringComparison.Ordinal);
        Assert.Contains("--connection", result.Out, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("list", "--limit", "0")]
    [InlineData("list", "--limit", "101")]
    [InlineData("list", "--order", "sideways")]
    [InlineData("list", "--created-after", "yesterday")]
    [InlineData("list", "--metadata", "novalue")]
    [InlineData("usage", "--group-by", "week")]
    [InlineData("usage", "--group-by", "metadata.a", "--group-by", "metadata.b")]
    [InlineData("prune")]
    [InlineData("get")]
    [InlineData("no-such-command")]
    public async Task A_wrong_command_line_is_a_usage_error_on_one_line(params string[] args)
    {
        var result = await Cli.RunAsync(null, "", args);

        Cli.AssertCleanFailure(result, exitCode: 2);
        Assert.Contains("--help", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unreachable_server_fails_at_once_on_one_line()
    {
        var result = await Cli.RunAsync("Host=127.0.0.1;Port=1;Timeout=2", "", "list");

        Cli.AssertCleanFailure(result);
        Assert.Contains("Could not connect to PostgreSQL at 127.0.0.1:1", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_malformed_connection_string_fails_on_one_line()
    {
        var result = await Cli.RunAsync("not a connection string", "", "export");

        Cli.AssertCleanFailure(result);
        Assert.Contains("connection string", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_database_without_the_schema_says_to_migrate()
    {
        var token = TestContext.Current.CancellationToken;
        var name = $"storage_cli_empty_{Guid.NewGuid():N}";
        var empty = await postgres.Server.CreateDatabaseAsync(name, token);
        try
        {
            var result = await Cli.RunAsync(empty, "", "list");

            Cli.AssertCleanFailure(result);
            Assert.Contains("storage migrate", result.Error, StringComparison.Ordinal);
        }
        finally
        {
            Npgsql.NpgsqlConnection.ClearAllPools();
            await postgres.Server.DropDatabaseAsync(name, CancellationToken.None);
        }
    }

    [Fact]
    public async Task Migrate_script_prints_the_idempotent_sql_without_a_database()
    {
        var result = await Cli.RunAsync(null, "", "migrate", "--script");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("CREATE TABLE", result.Out, StringComparison.Ordinal);
        Assert.Contains("__EFMigrationsHistory", result.Out, StringComparison.Ordinal);
        Assert.Equal("", result.Error);
    }
}

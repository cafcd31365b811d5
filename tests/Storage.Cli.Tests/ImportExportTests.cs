namespace Storage.Cli.Tests;

/// <summary>Every fixture and sample goes in through import and comes back out of export unchanged.</summary>
public sealed class ImportExportTests(MigratedDatabase database) : IClassFixture<MigratedDatabase>
{
    [Fact]
    public async Task Import_then_export_gives_back_every_fixture_and_sample_and_a_second_import_skips_them()
    {
        var files = Fixtures.AllCompletionFiles;

        var imported = await database.RunAsync(["import", .. files]);
        var again = await database.RunAsync(["import", .. files]);
        var exported = await database.RunAsync("export");

        Assert.True(imported.ExitCode == 0, imported.ToString());
        Assert.StartsWith($"imported {files.Count}, skipped 0 (already stored), rejected 0;", imported.Out, StringComparison.Ordinal);
        Assert.True(again.ExitCode == 0, again.ToString());
        Assert.StartsWith($"imported 0, skipped {files.Count} (already stored), rejected 0;", again.Out, StringComparison.Ordinal);
        Assert.True(exported.ExitCode == 0, exported.ToString());
        AssertSameCompletions(files.Select(File.ReadAllText).ToList(), exported.OutLines);
    }

    /// <summary>Each expected body matches exactly one exported line, semantically; order does not matter.</summary>
    private static void AssertSameCompletions(List<string> expected, IReadOnlyList<string> actual)
    {
        Assert.Equal(expected.Count, actual.Count);
        var unmatched = actual.ToList();
        foreach (var body in expected)
        {
            var match = unmatched.FindIndex(line => JsonAssert.FirstDifferenceOf(body, line) is null);
            Assert.True(match >= 0, $"No exported line equals {body[..Math.Min(body.Length, 200)]}");
            unmatched.RemoveAt(match);
        }
    }
}

/// <summary>An export imported into an empty database reproduces the original.</summary>
public sealed class ExportRoundTripTests(MigratedDatabase database, PostgresFixture postgres) : IClassFixture<MigratedDatabase>
{
    [Fact]
    public async Task Importing_the_export_into_an_empty_database_reproduces_it()
    {
        var token = TestContext.Current.CancellationToken;
        await database.RunAsync(["import", .. Fixtures.AllCompletionFiles]);
        var original = await database.RunAsync("export");
        var copyName = $"storage_cli_copy_{Guid.NewGuid():N}";
        var copy = await postgres.Server.CreateDatabaseAsync(copyName, token);
        try
        {
            var migrated = await Cli.RunAsync(copy, "", "migrate");
            var imported = await Cli.RunAsync(copy, original.Out, "import", "-");
            var exported = await Cli.RunAsync(copy, "", "export");

            Assert.True(migrated.ExitCode == 0, migrated.ToString());
            Assert.True(imported.ExitCode == 0, imported.ToString());
            Assert.StartsWith($"imported {original.OutLines.Count}, skipped 0", imported.Out, StringComparison.Ordinal);
            // Equal contents give equal storage keys, so the copy exports in the same order, byte for byte.
            Assert.Equal(original.Out, exported.Out);
        }
        finally
        {
            Npgsql.NpgsqlConnection.ClearAllPools();
            await postgres.Server.DropDatabaseAsync(copyName, CancellationToken.None);
        }
    }
}

namespace Storage.Tests;

/// <summary>Filter values that look like SQL or JSON are data: no error, no match, nothing dropped or deleted.</summary>
[Collection(SeededQueries.Name)]
public sealed class QueryHostileValueTests(SeededDatabase seeded)
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public static TheoryData<string> Values() =>
    [
        "'",
        "''",
        "'; DROP TABLE chat_completions; --",
        "acme' OR '1'='1",
        "\"}",
        "\", \"tenant\": \"acme",
        "{\"tenant\":\"acme\"}",
        "\\",
        "\\\"}",
        "%",
        "_",
        "*",
        "$1",
        "@model",
        "NULL",
        "null",
        "😀",
        new string('x', 100_000),
        "a\0b",
        "\uD800",
    ];

    [Theory]
    [MemberData(nameof(Values))]
    public async Task A_hostile_value_in_any_filter_matches_nothing_and_breaks_nothing(string value)
    {
        await using var store = seeded.Database.CreateStore();
        ChatCompletionFilter[] filters =
        [
            new() { Model = value },
            new() { Metadata = new Dictionary<string, string> { ["tenant"] = value } },
            new() { Metadata = new Dictionary<string, string> { [value] = "acme" } },
            new() { Model = QueryData.Models[0], Metadata = new Dictionary<string, string> { ["tenant"] = "acme", ["env"] = value } },
        ];

        foreach (var filter in filters)
        {
            var page = await store.ListAsync(filter, limit: 100, cancellationToken: Token);
            var exported = await store.ExportAsync(filter, Token).CountAsync(Token);
            var usage = await store.GetUsageAsync(filter, cancellationToken: Token);
            var deleted = await store.DeleteCreatedBeforeAsync(DateTimeOffset.MaxValue, filter, Token);

            Assert.Empty(page.Items);
            Assert.Equal(0, exported);
            Assert.Equal(0, Assert.Single(usage).Completions);
            Assert.Equal(0, deleted);
        }

        var byKey = await store.GetUsageAsync(grouping: new ChatCompletionUsageGrouping { ByMetadataKey = value }, cancellationToken: Token);
        Assert.Null(Assert.Single(byKey).MetadataValue);
        Assert.Equal(seeded.Completions.Count, byKey[0].Completions);
        Assert.False(await store.DeleteAsync(value, Token));
        Assert.Null(await store.GetWithVersionAsync(value, Token));
        await Assert.ThrowsAsync<ChatCompletionNotFoundException>(() => store.UpdateMetadataAsync(value, null, cancellationToken: Token));
        var notFound = await Assert.ThrowsAsync<ChatCompletionNotFoundException>(() => store.ListAsync(after: value, cancellationToken: Token));
        Assert.Equal("after", notFound.ParameterName);
        Assert.Equal(seeded.Completions.Count, await seeded.Database.ScalarAsync("SELECT count(*) FROM chat_completions"));
    }

    [Fact]
    public async Task Stored_values_with_quotes_backslashes_and_json_metacharacters_match_exactly()
    {
        await using var store = seeded.Database.CreateStore();

        foreach (var tenant in QueryData.Tenants[2..])
        {
            var filter = new ChatCompletionFilter { Metadata = new Dictionary<string, string> { ["tenant"] = tenant } };
            var page = await store.ListAsync(filter, limit: 100, cancellationToken: Token);

            Assert.NotEmpty(page.Items);
            Assert.Equal(QueryData.Expected(seeded.Completions, filter, ChatCompletionOrder.Descending).Select(c => c.Id), page.Items.Select(c => c.Id));
        }
    }
}

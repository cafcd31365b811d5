namespace Storage.Tests;

/// <summary>Keyset pages stay correct while completions are stored between them, and with duplicate vendor ids.</summary>
public sealed class QueryPaginationTests(MigratedDatabase database) : IClassFixture<MigratedDatabase>
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData(ChatCompletionOrder.Descending)]
    [InlineData(ChatCompletionOrder.Ascending)]
    public async Task Completions_stored_between_pages_neither_hide_nor_repeat_those_that_existed(ChatCompletionOrder order)
    {
        var run = Guid.NewGuid().ToString("N");
        var filter = new ChatCompletionFilter { Metadata = new Dictionary<string, string> { ["run"] = run } };
        var existing = QueryData.Build($"chatcmpl-{run}", count: 80, seed: 7, instants: 10).Select(c => Tag(c, run)).ToList();
        await using var store = database.CreateStore();
        await QueryData.SaveAllAsync(store, existing);
        var inserted = 0;

        var listed = await QueryData.WalkAsync(store, filter, limit: 6, order, async page =>
        {
            // Ahead of the walk, behind it, and tied with the cursor's own second (either side of it by key).
            var cursor = page.Items[^1].Created;
            foreach (var created in new[] { cursor, cursor, QueryData.Instant(-1), QueryData.Instant(11), cursor.AddSeconds(1), cursor.AddSeconds(-1) })
            {
                var extra = new SeededCompletion(Tag(TestCompletions.Completion(id: $"chatcmpl-{run}-new-{inserted++}"), run).Completion);
                extra.Completion.Created = created;
                Assert.Equal(SaveOutcome.Stored, await store.SaveAsync(extra.Completion, Token));
            }
        });

        var expected = QueryData.Expected(existing, filter, order).Select(c => c.Id).ToList();
        var originals = listed.Select(c => c.Id).Where(id => !id.Contains("-new-", StringComparison.Ordinal)).ToList();
        Assert.Equal(expected, originals);
        Assert.Equal(listed.Count, listed.Select(c => c.Id).Distinct(StringComparer.Ordinal).Count());
        Assert.True(inserted > 50);
        Assert.Contains(listed, c => c.Id.Contains("-new-", StringComparison.Ordinal));
    }

    [Fact]
    public async Task After_an_id_shared_by_several_completions_continues_after_the_most_recently_stored()
    {
        var run = Guid.NewGuid().ToString("N");
        var filter = new ChatCompletionFilter { Metadata = new Dictionary<string, string> { ["run"] = run } };
        var duplicate = $"chatcmpl-{run}-dup";
        await using var store = database.CreateStore();
        // Stored in this order; the second "dup" is the most recently stored though it was created earlier.
        var completions = new (string Id, int Instant)[] { ("a", 1), (duplicate, 5), ("b", 3), ("c", 4), ("d", 6), (duplicate, 2) };
        foreach (var (id, instant) in completions)
        {
            var completion = Tag(TestCompletions.Completion(id: id == duplicate ? id : $"chatcmpl-{run}-{id}"), run).Completion;
            completion.Created = QueryData.Instant(instant);
            await store.SaveAsync(completion, Token);
        }

        var page = await store.ListAsync(filter, after: duplicate, order: ChatCompletionOrder.Ascending, cancellationToken: Token);
        var latest = await store.GetAsync(duplicate, Token);

        Assert.Equal(QueryData.Instant(2), latest!.Created);
        Assert.Equal(
            [$"chatcmpl-{run}-b", $"chatcmpl-{run}-c", duplicate, $"chatcmpl-{run}-d"],
            page.Items.Select(c => c.Id));
        Assert.Equal(QueryData.Instant(5), page.Items[2].Created);
    }

    private static SeededCompletion Tag(SeededCompletion seeded, string run) => Tag(seeded.Completion, run);

    private static SeededCompletion Tag(ChatCompletion completion, string run)
    {
        completion.Metadata = new Dictionary<string, string>(completion.Metadata ?? new Dictionary<string, string>()) { ["run"] = run };
        return new SeededCompletion(completion);
    }
}

namespace Storage.Tests;

/// <summary>Deleting one completion by id, and many by a retention filter in batches.</summary>
public sealed class QueryDeleteTests(MigratedDatabase database) : IClassFixture<MigratedDatabase>
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Deleting_by_id_removes_the_completion_and_its_choices_and_says_whether_it_existed()
    {
        var completion = TestCompletions.Completion(choices: 3);
        var key = new SeededCompletion(completion).Key;
        await using var store = database.CreateStore();
        await store.SaveAsync(completion, Token);

        var first = await store.DeleteAsync(completion.Id, Token);
        var second = await store.DeleteAsync(completion.Id, Token);

        Assert.True(first);
        Assert.False(second);
        Assert.Null(await store.GetAsync(completion.Id, Token));
        Assert.Equal(0, await database.ScalarAsync("SELECT count(*) FROM chat_completion_choices WHERE completion_key = $1", key));
    }

    [Fact]
    public async Task Deleting_an_id_shared_by_several_removes_only_the_most_recently_stored()
    {
        var id = $"chatcmpl-shared-{Guid.NewGuid():N}";
        await using var store = database.CreateStore();
        await store.SaveAsync(TestCompletions.Completion(id: id, content: "first"), Token);
        await store.SaveAsync(TestCompletions.Completion(id: id, content: "second"), Token);

        Assert.True(await store.DeleteAsync(id, Token));

        var left = await store.FindAsync(id, Token);
        Assert.Equal("first", Assert.Single(left).Choices[0].Message.Content!.Text);
    }

    [Fact]
    public async Task Retention_deletes_in_batches_exactly_what_each_filter_selects()
    {
        var run = Guid.NewGuid().ToString("N");
        var all = QueryData.Build($"chatcmpl-{run}", count: 150, seed: 11).ToList();
        foreach (var seeded in all)
        {
            seeded.Completion.Metadata = new Dictionary<string, string>(seeded.Completion.Metadata ?? new Dictionary<string, string>()) { ["run"] = run };
        }

        var remaining = all.Select(c => new SeededCompletion(c.Completion)).ToList();
        await using var store = database.CreateStore();
        store.DeleteBatchSize = 7;
        await QueryData.SaveAllAsync(store, remaining);
        var other = TestCompletions.Completion();
        other.Created = QueryData.Instant(-5);
        other.Metadata = new Dictionary<string, string> { ["run"] = "another run" };
        await store.SaveAsync(other, Token);
        var steps = new (DateTimeOffset Before, ChatCompletionFilter Filter)[]
        {
            (QueryData.Instant(30), Filter(run, model: QueryData.Models[0])),
            (QueryData.Instant(25), Filter(run, metadata: ("tenant", "acme"))),
            (QueryData.Instant(39), Filter(run, model: QueryData.Models[1], metadata: ("env", "prod"))),
            (QueryData.Instant(35), Filter(run) with { CreatedFrom = QueryData.Instant(20) }),
            (QueryData.Instant(10), Filter(run)),
            (QueryData.Instant(0), Filter(run)),
        };

        foreach (var (before, filter) in steps)
        {
            var doomed = remaining.Where(c => c.Completion.Created < before && QueryData.Matches(filter, c.Completion)).ToList();

            var deleted = await store.DeleteCreatedBeforeAsync(before, filter, Token);

            Assert.Equal(doomed.Count, deleted);
            remaining = [.. remaining.Except(doomed)];
            var left = new List<string>();
            await foreach (var completion in store.ExportAsync(Filter(run), Token))
            {
                left.Add(completion.Id);
            }

            Assert.Equal(QueryData.Expected(remaining, null, ChatCompletionOrder.Ascending).Select(c => c.Id), left);
        }

        Assert.True(all.Count - remaining.Count > 7 * 3, "Several batches were needed.");
        Assert.Equal(
            remaining.Sum(c => c.Completion.Choices.Count),
            await database.ScalarAsync("SELECT count(*) FROM chat_completion_choices ch JOIN chat_completions c USING (completion_key, created) WHERE c.metadata @> jsonb_build_object('run', $1::text)", run));
        Assert.Equal(0, await database.ScalarAsync("SELECT count(*) FROM chat_completion_choices ch WHERE NOT EXISTS (SELECT 1 FROM chat_completions c WHERE c.completion_key = ch.completion_key AND c.created = ch.created)"));
        Assert.NotNull(await store.GetAsync(other.Id, Token));

        // No filter at all: everything created before the cutoff, here only the other run's completion.
        Assert.Equal(1, await store.DeleteCreatedBeforeAsync(QueryData.Instant(-4), cancellationToken: Token));
        Assert.Null(await store.GetAsync(other.Id, Token));
    }

    [Fact]
    public async Task Retention_before_everything_deletes_nothing()
    {
        await using var store = database.CreateStore();
        await store.SaveAsync(TestCompletions.Completion(), Token);
        var before = await database.ScalarAsync("SELECT count(*) FROM chat_completions");

        var deleted = await store.DeleteCreatedBeforeAsync(DateTimeOffset.UnixEpoch, cancellationToken: Token);

        Assert.Equal(0, deleted);
        Assert.Equal(before, await database.ScalarAsync("SELECT count(*) FROM chat_completions"));
    }

    private static ChatCompletionFilter Filter(string run, string? model = null, (string Key, string Value)? metadata = null)
    {
        var pairs = new Dictionary<string, string> { ["run"] = run };
        if (metadata is { } pair)
        {
            pairs[pair.Key] = pair.Value;
        }

        return new ChatCompletionFilter { Model = model, Metadata = pairs };
    }
}

using System.Diagnostics;

namespace Storage.Tests;

/// <summary>Issue 5: racing writers of the same completion, and of different completions that share a vendor id.</summary>
public sealed class FaultConcurrencyTests(MigratedDatabase database) : IClassFixture<MigratedDatabase>
{
    private const int Writers = 20;

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task The_same_completion_saved_by_twenty_racing_writers_is_stored_exactly_once(bool storePerWriter)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(20));
        var completion = TestCompletions.Completion(choices: 3);
        await using var shared = database.CreateStore();
        var stores = Enumerable.Range(0, Writers).Select(_ => storePerWriter ? database.CreateStore() : shared).ToList();
        var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var stopwatch = Stopwatch.StartNew();
        try
        {
            // Every writer is parked on the same signal, so their inserts reach the server together.
            var saves = stores.Select(store => Task.Run(
                async () =>
                {
                    await start.Task.WaitAsync(timeout.Token);
                    return await store.SaveAsync(completion, timeout.Token);
                },
                timeout.Token)).ToList();
            start.SetResult();
            var outcomes = await Task.WhenAll(saves);

            var stored = outcomes.Count(o => o == SaveOutcome.Stored);
            var replays = outcomes.Count(o => o == SaveOutcome.AlreadyStored);
            TestContext.Current.TestOutputHelper?.WriteLine(
                $"concurrency: {Writers} writers ({(storePerWriter ? "a store each" : "one store")}), stored {stored}, already stored {replays}, in {stopwatch.ElapsedMilliseconds} ms");
            Assert.Equal((1, Writers - 1), (stored, replays));
            Assert.Equal(1, await database.ScalarAsync("SELECT count(*) FROM chat_completions WHERE id = $1", completion.Id));
            Assert.Equal(3, await ChoiceCountAsync(completion.Id));
        }
        finally
        {
            foreach (var store in stores.Where(s => !ReferenceEquals(s, shared)))
            {
                await store.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task Distinct_completions_sharing_a_vendor_id_saved_at_once_are_both_stored()
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(20));
        var id = $"chatcmpl-race-{Guid.NewGuid():N}";
        await using var first = database.CreateStore();
        await using var second = database.CreateStore();
        var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        // Same vendor id and created second: only the content (and so the key) differs.
        var a = TestCompletions.Completion(id: id, content: "first draft", choices: 2);
        var b = TestCompletions.Completion(id: id, content: "second draft", choices: 2);
        b.Created = a.Created;

        async Task<SaveOutcome> SaveAsync(ChatCompletionStore store, ChatCompletion completion)
        {
            await start.Task.WaitAsync(timeout.Token);
            return await store.SaveAsync(completion, timeout.Token);
        }

        var saves = new[] { Task.Run(() => SaveAsync(first, a), timeout.Token), Task.Run(() => SaveAsync(second, b), timeout.Token) };
        start.SetResult();
        var outcomes = await Task.WhenAll(saves);

        var found = await first.FindAsync(id, timeout.Token);
        TestContext.Current.TestOutputHelper?.WriteLine(
            $"concurrency: 2 distinct completions sharing vendor id, outcomes {string.Join('/', outcomes)}, rows {found.Count}");
        Assert.All(outcomes, o => Assert.Equal(SaveOutcome.Stored, o));
        Assert.Equal(["first draft", "second draft"], found.Select(c => c.Choices[0].Message.Content!.Text).Order(StringComparer.Ordinal));
        Assert.All(found, c => Assert.Equal(2, c.Choices.Count));
        Assert.Equal(4, await ChoiceCountAsync(id));
    }

    private Task<long> ChoiceCountAsync(string id) => database.ScalarAsync(
        "SELECT count(*) FROM chat_completion_choices ch JOIN chat_completions c USING (completion_key, created) WHERE c.id = $1", id);
}

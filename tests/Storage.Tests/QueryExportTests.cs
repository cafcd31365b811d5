namespace Storage.Tests;

/// <summary>An export streams exactly the filtered set, oldest first, batch after batch.</summary>
[Collection(SeededQueries.Name)]
public sealed class QueryExportTests(SeededDatabase seeded)
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public static TheoryData<string, int> Cases() => new()
    {
        { "none", 7 },
        { "none", 250 },
        { "none", 320 },
        { "none", 1000 },
        { "model", 7 },
        { "metadata", 5 },
        { "created range", 16 },
        { "nothing", 7 },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task An_export_streams_the_filtered_set_in_created_order_across_batches(string filterName, int batchSize)
    {
        var filter = filterName switch
        {
            "model" => new ChatCompletionFilter { Model = QueryData.Models[3] },
            "metadata" => new ChatCompletionFilter { Metadata = new Dictionary<string, string> { ["tenant"] = QueryData.Tenants[3], ["env"] = "prod" } },
            "created range" => new ChatCompletionFilter { CreatedFrom = QueryData.Instant(12), CreatedTo = QueryData.Instant(19) },
            "nothing" => new ChatCompletionFilter { Model = "no-such-model" },
            _ => null,
        };
        var expected = QueryData.Expected(seeded.Completions, filter, ChatCompletionOrder.Ascending);
        await using var store = seeded.Database.CreateStore();
        store.ExportBatchSize = batchSize;

        var exported = new List<ChatCompletion>();
        await foreach (var completion in store.ExportAsync(filter, Token))
        {
            exported.Add(completion);
        }

        Assert.Equal(expected.Select(c => c.Id), exported.Select(c => c.Id));
        for (var i = 0; i < expected.Count; i++)
        {
            JsonAssert.SemanticallyEqual(expected[i].Json, ChatCompletionJson.Serialize(exported[i]));
        }
    }

    [Fact]
    public async Task An_export_stops_when_cancelled()
    {
        await using var store = seeded.Database.CreateStore();
        store.ExportBatchSize = 10;
        using var cancellation = CancellationTokenSource.CreateLinkedTokenSource(Token);
        var read = 0;

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var completion in store.ExportAsync(cancellationToken: cancellation.Token))
            {
                if (++read == 15)
                {
                    await cancellation.CancelAsync();
                }
            }
        });

        Assert.Equal(15, read);
    }
}

namespace Storage.Tests;

/// <summary>Every completion body goes in as wire JSON and comes back out as semantically equal JSON.</summary>
public sealed class RoundTripTests(MigratedDatabase database) : IClassFixture<MigratedDatabase>
{
    public static TheoryData<string> Files()
    {
        var data = new TheoryData<string>();
        foreach (var file in Fixtures.SharedCompletionFiles.Concat(Fixtures.SampleFiles))
        {
            data.Add(file);
        }

        return data;
    }

    [Fact]
    public void The_shared_fixtures_are_beside_the_clone()
    {
        // CI always has ../shared; a clone without it still runs the round trip over the project's samples.
        Assert.SkipWhen(Fixtures.SharedCompletionsDirectory is null && Environment.GetEnvironmentVariable("CI") is null, "../shared is not beside this clone");
        Assert.NotEmpty(Fixtures.SharedCompletionFiles);
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void Parsing_and_writing_keeps_every_member(string file)
    {
        var json = Fixtures.Read(file);

        var written = ChatCompletionJson.Serialize(ChatCompletionJson.Parse(json));

        JsonAssert.SemanticallyEqual(json, written);
    }

    [Theory]
    [MemberData(nameof(Files))]
    public async Task A_stored_completion_reads_back_as_equal_json_and_a_replay_stores_nothing(string file)
    {
        var token = TestContext.Current.CancellationToken;
        var json = Fixtures.Read(file);
        var completion = ChatCompletionJson.Parse(json);
        await using var store = database.CreateStore();

        var first = await store.SaveAsync(completion, token);
        var replay = await store.SaveAsync(ChatCompletionJson.Parse(json), token);
        var stored = await store.FindAsync(completion.Id, token);

        Assert.Equal(SaveOutcome.Stored, first);
        Assert.Equal(SaveOutcome.AlreadyStored, replay);
        // Other bodies may share the vendor id (""); exactly one stored completion is this one.
        var differences = stored.Select(c => JsonAssert.FirstDifferenceOf(json, ChatCompletionJson.Serialize(c))).ToList();
        Assert.True(differences.Count(d => d is null) == 1, $"No single stored completion equals the input: {string.Join("; ", differences)}");
    }
}

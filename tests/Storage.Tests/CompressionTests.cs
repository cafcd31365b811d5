namespace Storage.Tests;

/// <summary>Contents are compressed with lz4 (the server here is built with it) on every write path.</summary>
public sealed class CompressionTests(MigratedDatabase database) : IClassFixture<MigratedDatabase>
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public static TheoryData<string> Paths => ["single", "bulk"];

    [Theory]
    [MemberData(nameof(Paths))]
    public async Task Large_contents_are_stored_compressed_with_lz4(string path)
    {
        await using var store = database.CreateStore();
        // Repetitive text well past the 2 KB at which PostgreSQL starts compressing.
        var completion = TestCompletions.Completion(content: string.Concat(Enumerable.Repeat("The quick brown fox jumps over the lazy dog. ", 400)));
        if (path == "single")
        {
            await store.SaveAsync(completion, Token);
        }
        else
        {
            await store.SaveManyAsync([completion], Token).SingleAsync(Token);
        }

        Assert.Equal(1, await database.ScalarAsync(
            "SELECT count(*) FROM chat_completion_choices ch JOIN chat_completions c USING (completion_key, created) WHERE c.id = $1 AND pg_column_compression(ch.message_content) = 'lz4'",
            completion.Id));
        Assert.Equal(completion.Choices[0].Message.Content!.Text, (await store.GetAsync(completion.Id, Token))!.Choices[0].Message.Content!.Text);
    }
}

using System.Text.Json.Nodes;

namespace Storage.Tests;

/// <summary>Bad input gets a typed error naming the field and the rule, and nothing is written.</summary>
public sealed class ValidationTests(MigratedDatabase database) : IClassFixture<MigratedDatabase>
{
    private static readonly string Valid = TestCompletions.Json("\"Hi\"");

    public static TheoryData<string, string, ChatCompletionValidationRule> WireCases() => new()
    {
        { Remove("id"), "id", ChatCompletionValidationRule.Required },
        { Remove("model"), "model", ChatCompletionValidationRule.Required },
        { Remove("created"), "created", ChatCompletionValidationRule.Required },
        { Remove("choices"), "choices", ChatCompletionValidationRule.Required },
        { Remove("choices", "0", "index"), "choices[0].index", ChatCompletionValidationRule.Required },
        { Remove("choices", "0", "message"), "choices[0].message", ChatCompletionValidationRule.Required },
        { Remove("usage", "total_tokens"), "usage.total_tokens", ChatCompletionValidationRule.Required },
        { Set(JsonValue.Create((string?)null), "model"), "model", ChatCompletionValidationRule.Required },
        { Set(253_402_300_800L, "created"), "created", ChatCompletionValidationRule.OutOfRange },
        { Set(-62_135_596_801L, "created"), "created", ChatCompletionValidationRule.OutOfRange },
        { Set("yesterday", "created"), "created", ChatCompletionValidationRule.InvalidValue },
        { Set(1.5, "created"), "created", ChatCompletionValidationRule.InvalidValue },
        { Set(-1, "usage", "prompt_tokens"), "usage.prompt_tokens", ChatCompletionValidationRule.OutOfRange },
        { Set(-7, "usage", "completion_tokens_details", "reasoning_tokens"), "usage.completion_tokens_details.reasoning_tokens", ChatCompletionValidationRule.OutOfRange },
        { Valid.Replace("\"prompt_tokens\":1", "\"prompt_tokens\":99999999999999999999", StringComparison.Ordinal), "usage.prompt_tokens", ChatCompletionValidationRule.InvalidValue },
        { Valid.Replace("\"Hi\"", "\"a\\u0000b\"", StringComparison.Ordinal), "choices[0].message.content", ChatCompletionValidationRule.NulCharacter },
        { Valid.Replace("\"Hi\"", "\"a\\ud800b\"", StringComparison.Ordinal), "choices[0].message.content", ChatCompletionValidationRule.LoneSurrogate },
        { Valid.Replace("\"Hi\"", "\"Hi\",\"x_vendor\":{\"deep\":[\"ok\",\"bad\\u0000\"]}", StringComparison.Ordinal), "choices[0].message.x_vendor.deep[1]", ChatCompletionValidationRule.NulCharacter },
        { Valid.Replace("\"Hi\"", "\"Hi\",\"x_vendor\":\"\\udc00\"", StringComparison.Ordinal), "choices[0].message.x_vendor", ChatCompletionValidationRule.LoneSurrogate },
        { Set(new JsonObject { ["k\u0000"] = "v" }, "metadata"), "metadata.k\u0000", ChatCompletionValidationRule.NulCharacter },
        { Set(new JsonObject { ["k"] = 1 }, "metadata"), "metadata.k", ChatCompletionValidationRule.InvalidValue },
        { Valid[..^10], "usage", ChatCompletionValidationRule.MalformedJson },
        { Valid.Replace("\"model\":\"gpt-4o-mini\"", "\"model\":\"a\",\"model\":\"b\"", StringComparison.Ordinal), "model", ChatCompletionValidationRule.MalformedJson },
    };

    [Theory]
    [MemberData(nameof(WireCases))]
    public async Task Bad_wire_json_is_rejected_naming_the_field_and_nothing_is_stored(string json, string field, ChatCompletionValidationRule rule)
    {
        var before = await CountAsync();

        var error = await Assert.ThrowsAsync<ChatCompletionValidationException>(async () =>
        {
            await using var store = database.CreateStore();
            await store.SaveAsync(ChatCompletionJson.Parse(json), TestContext.Current.CancellationToken);
        });

        Assert.Equal(rule, error.Rule);
        Assert.StartsWith(field, error.Field, StringComparison.Ordinal);
        Assert.Contains(error.Field, error.Message, StringComparison.Ordinal);
        Assert.Equal(before, await CountAsync());
    }

    public static TheoryData<string, string, ChatCompletionValidationRule> ObjectCases() => new()
    {
        { "nul in content", "choices[0].message.content", ChatCompletionValidationRule.NulCharacter },
        { "lone surrogate in refusal", "choices[0].message.refusal", ChatCompletionValidationRule.LoneSurrogate },
        { "lone surrogate in tool arguments", "choices[0].message.tool_calls[0].function.arguments", ChatCompletionValidationRule.LoneSurrogate },
        { "nul in metadata value", "metadata.tenant", ChatCompletionValidationRule.NulCharacter },
        { "17 metadata pairs", "metadata", ChatCompletionValidationRule.MetadataLimit },
        { "65-character metadata key", "metadata." + new string('k', 65), ChatCompletionValidationRule.MetadataLimit },
        { "513-character metadata value", "metadata.tenant", ChatCompletionValidationRule.MetadataLimit },
        { "duplicate choice index", "choices[1].index", ChatCompletionValidationRule.DuplicateChoiceIndex },
        { "negative choice index", "choices[0].index", ChatCompletionValidationRule.OutOfRange },
        { "negative total tokens", "usage.total_tokens", ChatCompletionValidationRule.OutOfRange },
        { "null model", "model", ChatCompletionValidationRule.Required },
        { "content over the limit", "choices[0].message.content", ChatCompletionValidationRule.TooLarge },
    };

    [Theory]
    [MemberData(nameof(ObjectCases))]
    public async Task Bad_objects_are_rejected_naming_the_field_and_nothing_is_stored(string @case, string field, ChatCompletionValidationRule rule)
    {
        var completion = TestCompletions.Completion(choices: 2);
        var message = completion.Choices[0].Message;
        switch (@case)
        {
            case "nul in content": message.Content = "a\0b"; break;
            case "lone surrogate in refusal": message.Refusal = "oops \uD83D"; break;
            case "lone surrogate in tool arguments": message.ToolCalls = [new ChatToolCall { Id = "c", Type = "function", Function = new ChatFunction { Name = "f", Arguments = "{\"a\":\"\uDE00\"}" } }]; break;
            case "nul in metadata value": completion.Metadata!["tenant"] = "ac\0me"; break;
            case "17 metadata pairs": completion.Metadata = Enumerable.Range(0, 17).ToDictionary(i => $"k{i}", i => "v"); break;
            case "65-character metadata key": completion.Metadata![new string('k', 65)] = "v"; break;
            case "513-character metadata value": completion.Metadata!["tenant"] = new string('v', 513); break;
            case "duplicate choice index": completion.Choices[1].Index = 0; break;
            case "negative choice index": completion.Choices[0].Index = -1; break;
            case "negative total tokens": completion.Usage!.TotalTokens = -1; break;
            case "null model": completion.Model = null!; break;
            case "content over the limit": message.Content = new string('x', 101); break;
        }

        var before = await CountAsync();
        await using var store = database.CreateStore(new ChatCompletionStoreOptions { MaxContentLength = 100 });

        var error = await Assert.ThrowsAsync<ChatCompletionValidationException>(() => store.SaveAsync(completion, TestContext.Current.CancellationToken));

        Assert.Equal(rule, error.Rule);
        Assert.Equal(field, error.Field);
        Assert.Equal(before, await CountAsync());
        // The store is not left in a bad state: the next write works.
        Assert.Equal(SaveOutcome.Stored, await store.SaveAsync(TestCompletions.Completion(), TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task Metadata_limits_can_be_turned_off_and_characters_are_counted_as_people_count_them()
    {
        var wide = TestCompletions.Completion();
        wide.Metadata = Enumerable.Range(0, 20).ToDictionary(i => $"k{i}", i => new string('v', 600));
        var emoji = TestCompletions.Completion();
        emoji.Metadata = new Dictionary<string, string> { [string.Concat(Enumerable.Repeat("😀", 64))] = "ok" };

        await using var lenient = database.CreateStore(new ChatCompletionStoreOptions { ValidateMetadata = false });
        await using var strict = database.CreateStore();

        Assert.Equal(SaveOutcome.Stored, await lenient.SaveAsync(wide, TestContext.Current.CancellationToken));
        Assert.Equal(SaveOutcome.Stored, await strict.SaveAsync(emoji, TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task Four_byte_characters_and_multi_megabyte_content_round_trip()
    {
        var big = TestCompletions.Completion(content: string.Concat(Enumerable.Repeat("𝄞 music ", 400_000)));
        await using var store = database.CreateStore();

        await store.SaveAsync(big, TestContext.Current.CancellationToken);
        var stored = await store.GetAsync(big.Id, TestContext.Current.CancellationToken);

        JsonAssert.SemanticallyEqual(ChatCompletionJson.Serialize(big), ChatCompletionJson.Serialize(stored!));
    }

    private Task<long> CountAsync() => database.ScalarAsync("SELECT count(*) FROM chat_completions");

    private static string Remove(params string[] path)
    {
        var root = JsonNode.Parse(Valid)!;
        var parent = Navigate(root, path[..^1]);
        parent.AsObject().Remove(path[^1]);
        return root.ToJsonString();
    }

    private static string Set(JsonNode? value, params string[] path)
    {
        var root = JsonNode.Parse(Valid)!;
        Navigate(root, path[..^1]).AsObject()[path[^1]] = value;
        return root.ToJsonString();
    }

    private static JsonNode Navigate(JsonNode node, string[] path)
    {
        foreach (var step in path)
        {
            node = int.TryParse(step, out var index) ? node[index]! : node[step] ??= new JsonObject();
        }

        return node;
    }
}

using System.Text;
using System.Text.Json;
using Storage.Internal;

namespace Storage.Tests;

/// <summary>The fast content hash gives exactly the bytes of the first implementation (<see cref="ContentHashOracle"/>).</summary>
public sealed class ContentHashTests
{
    private static readonly string[] NumberSpellings =
    [
        "0", "-0", "0.0", "-0.0", "0e5", "1", "-1", "10", "100", "1.50", "15e-1", "1.5E+0", "150E-2", "0.015e2", "1E+400", "10e399",
        "-1E-400", "123456789012345678901234567890", "9223372036854775807", "9223372036854775808", "-9223372036854775809",
        "0.1", "0.10000000000000000555", "1e-7", "3.14159", "2.5e10", "1e99999999999999999999", "-12.3400e-0099999999999999999999", "0.000", "7E0",
    ];

    private static readonly string[] StringPieces =
    [
        "a", "Z", "0", " ", "é", "ß", "中", "\uE000", "\uFFFD", "\uFFFF", "😀", "𝄞", "<", ">", "&", "'", "+", "`", "\\", "\"", "/",
        "\n", "\t", "\u0001", "\u001f", "\u007f", "\u2028", "\u00a0", "model", "id", "x_", "A",
    ];

    public static TheoryData<string> Files() => [.. Fixtures.AllCompletionFiles];

    [Theory]
    [MemberData(nameof(Files))]
    public void Fast_hash_matches_the_first_implementation_on_a_fixture(string file)
    {
        var completion = ChatCompletionJson.Parse(Fixtures.Read(file));

        AssertSameAsOracle(completion);
    }

    [Fact]
    public void Fast_hash_matches_the_first_implementation_on_every_shared_fixture_and_sample()
    {
        var files = Fixtures.AllCompletionFiles;

        foreach (var file in files)
        {
            AssertSameAsOracle(ChatCompletionJson.Parse(Fixtures.Read(file)));
        }

        Assert.True(files.Count >= 5, $"only {files.Count} fixture files found");
    }

    [Fact]
    public void Fast_hash_matches_the_first_implementation_on_completions_built_in_code()
    {
        for (var choices = 1; choices <= 4; choices++)
        {
            var completion = TestCompletions.Completion(content: new string('x', 1000 * choices), choices: choices);
            completion.Usage!.PromptTokensDetails = new ChatPromptTokensDetails { CachedTokens = 3 };
            completion.ServiceTier = "default";
            AssertSameAsOracle(completion);
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void Fast_hash_matches_the_first_implementation_on_randomized_extension_json(int seed)
    {
        var random = new Random(seed);
        var compared = 0;
        for (var i = 0; i < 300; i++)
        {
            var extension = RandomValue(random, depth: 0);
            var json = TestCompletions.Json($"\"{RandomText(random)}\",\"x_{i}\":{extension}")
                .Replace("\"object\":", $"\"{RandomText(random)}\":{RandomValue(random, 2)},\"object\":", StringComparison.Ordinal);
            ChatCompletion completion;
            try
            {
                completion = ChatCompletionJson.Parse(json);
            }
            catch (ChatCompletionValidationException)
            {
                // A random member name may repeat a known one; that is the parser's business, not the hash's.
                continue;
            }

            // Elements attached in code keep any key order.
            using var document = JsonDocument.Parse($"{{\"b\":1,\"a\":{extension},\"B\":2.50,\"_\":[{RandomValue(random, 1)}]}}");
            (completion.Choices[0].AdditionalProperties ??= new Dictionary<string, JsonElement>())["x_code"] = document.RootElement.Clone();
            AssertSameAsOracle(completion);
            compared++;
        }

        Assert.True(compared > 200, $"only {compared} random completions compared");
    }

    [Theory]
    [InlineData("")]
    [InlineData("acme")]
    [InlineData("tenant-ü-😀")]
    public void Fast_hash_mixes_the_tenant_in_as_before(string tenant)
    {
        foreach (var file in Fixtures.SampleFiles)
        {
            var completion = ChatCompletionJson.Parse(Fixtures.Read(file));
            Assert.Equal(ContentHashOracle.Compute(completion, tenant), ContentHash.Compute(completion, tenant));
        }

        var sample = TestCompletions.Completion();
        Assert.NotEqual(ContentHash.Compute(sample, "other"), ContentHash.Compute(sample, tenant));
    }

    [Fact]
    public void Equal_numbers_in_any_spelling_hash_alike_and_as_before()
    {
        string[][] equal = [["1.50", "15e-1", "1.5E+0", "150E-2", "0.015e2"], ["0", "-0", "0.0", "0e5", "-0.0"], ["1E+400", "10e399"], ["100", "1e2", "1.00E2"]];
        foreach (var group in equal)
        {
            var hashes = group.Select(n => Convert.ToHexString(ContentHash.Compute(WithExtension(n), ""))).Distinct().ToList();
            Assert.Single(hashes);
        }

        foreach (var number in NumberSpellings)
        {
            AssertSameAsOracle(WithExtension(number));
            AssertSameAsOracle(WithExtension($"{{\"n\":{number},\"m\":[{number},-{number.TrimStart('-')}]}}"));
        }
    }

    [Fact]
    public void Member_names_sort_by_utf16_code_units_as_before()
    {
        // U+E000..U+FFFF sort after the supplementary planes in UTF-16, before them in UTF-8.
        var completion = WithExtension("{\"\uFFFF\":1,\"😀\":2,\"\uE000\":3,\"z\":4,\"é\":5,\"\":6,\"a\\u0000\":7,\"a\":8,\"𝄞\":9}");

        AssertSameAsOracle(completion);
        var canonical = Encoding.UTF8.GetString(FastCanonical(completion));
        Assert.True(canonical.IndexOf("😀", StringComparison.Ordinal) < canonical.IndexOf("\\uE000", StringComparison.Ordinal), canonical);
    }

    [Theory]
    [InlineData("\"\\ud800\"")]
    [InlineData("{\"\\udc00\":1}")]
    [InlineData("\"a\\u0000b\"")]
    [InlineData("{\"a\":1,\"a\":2}")]
    [InlineData("[{\"b\":{\"x\":1,\"y\":2,\"x\":1}}]")]
    public void Fast_hash_fails_or_succeeds_exactly_where_the_first_implementation_does(string extension)
    {
        using var document = JsonDocument.Parse(extension);
        var completion = TestCompletions.Completion();
        completion.AdditionalProperties = new Dictionary<string, JsonElement> { ["x_vendor"] = document.RootElement.Clone() };

        AssertSameAsOracleOrBothFail(completion);
    }

    [Fact]
    public void Duplicate_member_names_are_rejected_naming_the_member()
    {
        using var document = JsonDocument.Parse("[{\"b\":{\"x\":1,\"y\":2,\"x\":1}}]");
        var completion = TestCompletions.Completion();
        completion.Choices[0].Message.AdditionalProperties = new Dictionary<string, JsonElement> { ["x_vendor"] = document.RootElement.Clone() };

        var error = Assert.Throws<ChatCompletionValidationException>(() => ContentHash.Compute(completion, ""));

        Assert.Equal("choices[0].message.x_vendor[0].b.x", error.Field);
        Assert.Equal(ChatCompletionValidationRule.MalformedJson, error.Rule);
    }

    [Fact]
    public void An_extension_member_named_like_a_typed_member_is_rejected()
    {
        using var document = JsonDocument.Parse("\"other-model\"");
        var completion = TestCompletions.Completion();
        completion.AdditionalProperties = new Dictionary<string, JsonElement> { ["model"] = document.RootElement.Clone() };

        var error = Assert.Throws<ChatCompletionValidationException>(() => ContentHash.Compute(completion, ""));

        Assert.Equal("model", error.Field);
    }

    [Fact]
    public void Extension_json_nested_past_the_writer_limit_is_rejected_naming_the_field()
    {
        var json = string.Concat(Enumerable.Repeat("[", 70)) + "1" + string.Concat(Enumerable.Repeat("]", 70));
        using var document = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 1000 });
        var completion = TestCompletions.Completion();
        completion.AdditionalProperties = new Dictionary<string, JsonElement> { ["x_deep"] = document.RootElement.Clone() };

        var error = Assert.Throws<ChatCompletionValidationException>(() => ContentHash.Compute(completion, ""));

        Assert.StartsWith("x_deep[0][0]", error.Field, StringComparison.Ordinal);
        Assert.Equal(ChatCompletionValidationRule.TooLarge, error.Rule);
    }

    [Theory]
    [InlineData(50)]
    [InlineData(59)]
    [InlineData(60)]
    [InlineData(61)]
    [InlineData(200)]
    public void Deep_extension_json_hashes_or_fails_as_before(int depth)
    {
        var json = string.Concat(Enumerable.Repeat("[", depth)) + "1" + string.Concat(Enumerable.Repeat("]", depth));
        using var document = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 1000 });
        var completion = TestCompletions.Completion();
        completion.AdditionalProperties = new Dictionary<string, JsonElement> { ["x_deep"] = document.RootElement.Clone() };

        AssertSameAsOracleOrBothFail(completion);
    }

    private static ChatCompletion WithExtension(string json)
    {
        var completion = TestCompletions.Completion(id: "chatcmpl-number");
        completion.Created = DateTimeOffset.FromUnixTimeSeconds(1_764_000_000);
        using var document = JsonDocument.Parse(json);
        completion.AdditionalProperties = new Dictionary<string, JsonElement> { ["x_value"] = document.RootElement.Clone() };
        return completion;
    }

    private static string RandomValue(Random random, int depth)
    {
        var kind = random.Next(depth > 3 ? 4 : 6);
        switch (kind)
        {
            case 0:
                return NumberSpellings[random.Next(NumberSpellings.Length)];
            case 1:
                return $"\"{RandomText(random)}\"";
            case 2:
                return random.Next(3) switch { 0 => "true", 1 => "false", _ => "null" };
            case 3:
                return $"\"{RandomText(random)}\"";
            case 4:
                return "[" + string.Join(",", Enumerable.Range(0, random.Next(4)).Select(_ => RandomValue(random, depth + 1))) + "]";
            default:
                var names = Enumerable.Range(0, random.Next(6)).Select(_ => RandomText(random)).Distinct(StringComparer.Ordinal).ToList();
                return "{" + string.Join(",", names.Select(n => $"\"{n}\":{RandomValue(random, depth + 1)}")) + "}";
        }
    }

    // JSON string content: pieces written raw or as escapes of every form, so the parser sees both.
    private static string RandomText(Random random)
    {
        var builder = new StringBuilder();
        for (var i = random.Next(6); i >= 0; i--)
        {
            var piece = StringPieces[random.Next(StringPieces.Length)];
            var escape = random.Next(3) == 0 || piece[0] < ' ' || piece is "\\" or "\"";
            if (!escape)
            {
                builder.Append(piece);
                continue;
            }

            foreach (var c in piece)
            {
                builder.Append(c switch
                {
                    '\n' when random.Next(2) == 0 => "\\n",
                    '"' when random.Next(2) == 0 => "\\\"",
                    '\\' when random.Next(2) == 0 => "\\\\",
                    '/' when random.Next(2) == 0 => "\\/",
                    _ => random.Next(2) == 0 ? $"\\u{(int)c:x4}" : $"\\u{(int)c:X4}",
                });
            }
        }

        return builder.ToString();
    }

    private static byte[] FastCanonical(ChatCompletion completion)
    {
        using var scratch = CanonicalJson.Rent();
        scratch.Serialize(completion);
        return scratch.Canonicalize(ContentHash.LeftOut).ToArray();
    }

    private static void AssertSameAsOracle(ChatCompletion completion)
    {
        var expected = ContentHashOracle.Canonical(completion);
        Assert.Equal(Encoding.UTF8.GetString(expected), Encoding.UTF8.GetString(FastCanonical(completion)));
        try
        {
            Assert.Equal(ContentHashOracle.Compute(completion), ContentHash.Compute(completion, ""));
        }
        catch (ChatCompletionValidationException e)
        {
            // A number past PostgreSQL's numeric (1e99999999999999999999) is now refused before it could fail the INSERT.
            Assert.Equal(ChatCompletionValidationRule.OutOfRange, e.Rule);
        }
    }

    private static void AssertSameAsOracleOrBothFail(ChatCompletion completion)
    {
        var expected = Outcome(() => ContentHashOracle.Compute(completion));
        var actual = Outcome(() => ContentHash.Compute(completion, ""));

        Assert.Equal(expected, actual);
    }

    private static string Outcome(Func<byte[]> hash)
    {
        try
        {
            return Convert.ToHexString(hash());
        }
        catch (Exception e) when (e is InvalidOperationException or JsonException or ChatCompletionValidationException)
        {
            return "failed";
        }
    }
}

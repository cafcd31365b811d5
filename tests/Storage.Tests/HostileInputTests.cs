using System.Text;
using System.Text.Json;

namespace Storage.Tests;

/// <summary>
/// Issue 5: hostile input in every string field, in metadata keys and values and in extension JSON; bytes that are not
/// valid UTF-8 (issue 19) in each of those places and around the document, and a byte order mark; 4-byte characters,
/// multi-megabyte values, deep nesting, numbers past int64 and past PostgreSQL's numeric, <c>created</c> at the edges of
/// .NET and PostgreSQL, and SQL and JSON metacharacters in the query paths <see cref="QueryHostileValueTests"/> does not
/// cover (tenants, message listing, id lookups, date bounds, metadata updates). Each input goes through every path that
/// takes it (<see cref="ChatCompletionJson.Parse(string)"/>, or for bytes <see cref="ChatCompletionJson.Parse(ReadOnlySpan{byte})"/>
/// and <see cref="ChatCompletionJson.ParseAsync(Stream, CancellationToken)"/>; <c>SaveAsync</c>, <c>SaveManyAsync</c>) and must either
/// round-trip exactly (same canonical JSON and content hash, same call record, a finite <c>created</c> in the table) or be
/// rejected with a <see cref="ChatCompletionValidationException"/> naming the field (for invalid UTF-8, the byte), with
/// nothing stored. The machinery that tries and counts is <see cref="HostileInputRunner"/>.
/// </summary>
public sealed class HostileInputTests(MigratedDatabase database) : IClassFixture<MigratedDatabase>
{
    private static readonly (string Name, string Value, ChatCompletionValidationRule? Rule)[] HostileStrings =
    [
        ("NUL", "a\0b", ChatCompletionValidationRule.NulCharacter),
        ("lone high surrogate", "a\uD800b", ChatCompletionValidationRule.LoneSurrogate),
        ("lone low surrogate", "\uDC00", ChatCompletionValidationRule.LoneSurrogate),
        ("swapped surrogate pair", "x\uDE00\uD83D", ChatCompletionValidationRule.LoneSurrogate),
        ("4-byte characters", "𝄞😀🀄 \U0010FFFF", null),
        ("SQL metacharacters", "'; DROP TABLE chat_completions; -- $1 %_ \\", null),
        ("JSON metacharacters", "\"}]},{\\\"\\u0000\" / \u2028\u2029\b\f\n\r\t<>&", null),
    ];

    // Byte sequences that are not UTF-8, each refused where it starts: never decoded to U+FFFD.
    private static readonly (string Name, byte[] Bytes)[] InvalidUtf8 =
    [
        ("bytes FF FE", [0xFF, 0xFE]),
        ("a lone continuation byte", [0x80]),
        ("a sequence cut short", [0xE2, 0x82]),
        ("an overlong encoding of '/'", [0xC0, 0xAF]),
        ("an encoded surrogate", [0xED, 0xA0, 0x80]),
        ("a code point past U+10FFFF", [0xF4, 0x90, 0x80, 0x80]),
        ("a 5-byte sequence", [0xF8, 0x88, 0x80, 0x80, 0x80]),
    ];

    // Where in a document the bytes go: the ~ of each template.
    private static readonly (string Place, string Template)[] ByteTemplates =
    [
        ("id", TestCompletions.Json().Replace("\"chatcmpl-json-", "\"chatcmpl-json-~", StringComparison.Ordinal)),
        ("choices[0].message.content", TestCompletions.Json("\"Hi ~\"")),
        ("an extension string", TestCompletions.Json().Replace("\"object\":", "\"x_vendor\":\"~\",\"object\":", StringComparison.Ordinal)),
        ("an extension member name", TestCompletions.Json().Replace("\"object\":", "\"x_~\":1,\"object\":", StringComparison.Ordinal)),
        ("a metadata key", TestCompletions.Json().Replace("\"object\":", "\"metadata\":{\"~\":\"v\"},\"object\":", StringComparison.Ordinal)),
        ("a metadata value", TestCompletions.Json().Replace("\"object\":", "\"metadata\":{\"k\":\"~\"},\"object\":", StringComparison.Ordinal)),
        ("a nested message extension", TestCompletions.Json("\"Hi\",\"x_vendor\":{\"n\":[1,{\"m\":\"~\"}]}")),
        ("whitespace between members", TestCompletions.Json().Replace(",\"object\":", ",~\"object\":", StringComparison.Ordinal)),
        ("the end of the input", TestCompletions.Json() + "~"),
    ];

    // Every string the wire model holds, by its wire path, and how to put a value there.
    private static readonly (string Field, Action<ChatCompletion, string> Set)[] StringFields =
    [
        ("id", (c, v) => c.Id = v),
        ("object", (c, v) => c.ObjectType = v),
        ("model", (c, v) => c.Model = v),
        ("service_tier", (c, v) => c.ServiceTier = v),
        ("system_fingerprint", (c, v) => c.SystemFingerprint = v),
        ("choices[0].finish_reason", (c, v) => c.Choices[0].FinishReason = v),
        ("choices[0].message.role", (c, v) => c.Choices[0].Message.Role = v),
        ("choices[0].message.content", (c, v) => c.Choices[0].Message.Content = v),
        ("choices[0].message.content[0].text", (c, v) => c.Choices[0].Message.Content = new ChatMessageContent(Element($"[{{\"type\":\"text\",\"text\":{Quote(v)}}}]"))),
        ("choices[0].message.refusal", (c, v) => c.Choices[0].Message.Refusal = v),
        ("choices[0].message.reasoning", (c, v) => c.Choices[0].Message.Reasoning = v),
        ("choices[0].message.reasoning_content", (c, v) => c.Choices[0].Message.ReasoningContent = v),
        ("choices[0].message.tool_calls[0].id", (c, v) => c.Choices[0].Message.ToolCalls = [Tool(id: v)]),
        ("choices[0].message.tool_calls[0].function.name", (c, v) => c.Choices[0].Message.ToolCalls = [Tool(name: v)]),
        ("choices[0].message.tool_calls[0].function.arguments", (c, v) => c.Choices[0].Message.ToolCalls = [Tool(arguments: v)]),
        ("choices[0].message.tool_calls[0].custom.input", (c, v) => c.Choices[0].Message.ToolCalls = [new ChatToolCall { Id = "c", Type = "custom", Custom = new ChatCustomToolCall { Name = "n", Input = v } }]),
        ("choices[0].message.function_call.arguments", (c, v) => c.Choices[0].Message.FunctionCall = new ChatFunction { Name = "f", Arguments = v }),
        ("choices[0].message.audio.transcript", (c, v) => c.Choices[0].Message.Audio = new ChatAudio { Id = "a", Data = "AA==", ExpiresAt = long.MaxValue, Transcript = v }),
        ("choices[0].message.annotations[0].url_citation.title", (c, v) => c.Choices[0].Message.Annotations =
            [new ChatAnnotation { Type = "url_citation", UrlCitation = new ChatUrlCitation { StartIndex = 0, EndIndex = int.MaxValue, Url = "https://example.com/?q='\"", Title = v } }]),
        ("choices[0].logprobs.content[0].top_logprobs[0].token", (c, v) => c.Choices[0].Logprobs = new ChatLogprobs
        {
            Content = [new ChatTokenLogprob { Token = "t", Logprob = -0.5, Bytes = [116], TopLogprobs = [new ChatTopLogprob { Token = v, Logprob = -1.25e-300, Bytes = [0, 255] }] }],
        }),
        ("metadata.note", (c, v) => c.Metadata!["note"] = v),
        ("metadata.{value}", (c, v) => c.Metadata![v] = "key under test"),
        ("x_vendor", (c, v) => c.AdditionalProperties = new Dictionary<string, JsonElement> { ["x_vendor"] = Element(Quote(v)) }),
        ("{value}", (c, v) => c.AdditionalProperties = new Dictionary<string, JsonElement> { [v] = Element("1") }),
        ("choices[0].message.x_vendor.deep[1]", (c, v) => c.Choices[0].Message.AdditionalProperties = new Dictionary<string, JsonElement> { ["x_vendor"] = Element($"{{\"deep\":[\"ok\",{Quote(v)}]}}") }),
        ("usage.x_vendor.{value}", (c, v) => c.Usage!.AdditionalProperties = new Dictionary<string, JsonElement> { ["x_vendor"] = Element($"{{{Quote(v)}:true}}") }),
        ("call.trace_id", (c, v) => c.Call = new ChatCompletionCall { StartedAt = c.Created, TraceId = v }),
        ("call.request.messages[0].content", (c, v) => c.Call = new ChatCompletionCall
        {
            StartedAt = c.Created,
            Request = Element($"{{\"model\":\"m\",\"messages\":[{{\"role\":\"user\",\"content\":{Quote(v)}}}],\"metadata\":{{{Quote(v)}:{Quote(v)}}}}}"),
        }),
    ];

    private static readonly string[] StorableNumbers =
    [
        "9223372036854775808", "-9223372036854775809", "18446744073709551616", "123456789012345678901234567890.123456789012345678901234567890",
        "1e400", "-1.5E-300", "1E+308", "4.9e-324", "1e131071", "1e-16383", "0e1000000", "-0", "1.50", "0.000",
    ];

    private static readonly string[] UnstorableNumbers = ["1e131072", "1e-16384", "0.0e-99999", "1e2147483647", "-9e1073741823"];

    private static readonly Dictionary<string, Case> Cases = BuildCases().ToDictionary(c => c.Name, StringComparer.Ordinal);

    public static TheoryData<string> CaseNames() => [.. Cases.Keys];

    [Theory]
    [MemberData(nameof(CaseNames))]
    public async Task A_hostile_input_round_trips_exactly_or_is_rejected_naming_the_field_with_nothing_stored(string name)
    {
        var attempts = await Cases[name].Run(new HostileInputRunner(database, $"h-{Guid.NewGuid():N}"));

        Assert.NotEmpty(attempts);
        Assert.All(attempts, a => Assert.True(a.Kind is HostileOutcome.RoundTripped or HostileOutcome.RejectedCleanly, $"{a.Path}: {a.Kind}: {a.Detail}"));
    }

    [Fact]
    public async Task Every_hostile_input_is_round_tripped_or_rejected_cleanly_and_none_is_stored_wrongly()
    {
        var attempts = await new HostileInputRunner(database, $"all-{Guid.NewGuid():N}").TryAllAsync(Cases.Values.Select(c => c.Run));
        var count = HostileInputRunner.Counts(attempts);
        var summary = HostileInputRunner.Summary(attempts);
        TestContext.Current.SendDiagnosticMessage(summary);
        TestContext.Current.TestOutputHelper?.WriteLine(summary);
        foreach (var failed in attempts.Where(a => a.Kind is HostileOutcome.StoredWrongly or HostileOutcome.Mismatched).Take(20))
        {
            TestContext.Current.TestOutputHelper?.WriteLine($"  {failed.Path}: {failed.Kind}: {failed.Detail}");
        }

        Assert.Equal(0, count.GetValueOrDefault(HostileOutcome.StoredWrongly));
        Assert.Equal(0, count.GetValueOrDefault(HostileOutcome.Mismatched));
        Assert.True(count.GetValueOrDefault(HostileOutcome.RoundTripped) > 100, summary);
        Assert.True(count.GetValueOrDefault(HostileOutcome.RejectedCleanly) > 100, summary);
    }

    private static IEnumerable<Case> BuildCases()
    {
        foreach (var (field, set) in StringFields)
        {
            foreach (var (valueName, value, rule) in HostileStrings)
            {
                var expectedField = field.Replace("{value}", value, StringComparison.Ordinal);
                yield return ObjectCase($"{valueName} in {field}", () => With(c => set(c, value)), rule is null ? null : (expectedField, rule.Value));
            }
        }

        foreach (var (place, template) in ByteTemplates)
        {
            foreach (var (bytesName, bytes) in InvalidUtf8)
            {
                var at = Encoding.UTF8.GetByteCount(template[..template.IndexOf('~', StringComparison.Ordinal)]);
                yield return BytesCase($"{bytesName} in {place}", Spliced(template, bytes), ("$", ChatCompletionValidationRule.MalformedJson), $"0x{bytes[0]:X2} at ", $"byte {at + 1} (");
            }
        }

        // RFC 8259 lets a parser ignore a byte order mark before the document; anywhere else U+FEFF is a character.
        yield return BytesCase("a UTF-8 byte order mark before the document", [0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes(TestCompletions.Json())], null);
        yield return BytesCase("U+FEFF inside content", Encoding.UTF8.GetBytes(TestCompletions.Json("\"\uFEFFHi\uFEFF\"")), null);
        yield return BytesCase("a UTF-8 byte order mark after the document", [.. Encoding.UTF8.GetBytes(TestCompletions.Json()), 0xEF, 0xBB, 0xBF], ("$", ChatCompletionValidationRule.MalformedJson));
        yield return BytesCase("a UTF-16 byte order mark before the document", [0xFF, 0xFE, .. Encoding.UTF8.GetBytes(TestCompletions.Json())], ("$", ChatCompletionValidationRule.MalformedJson), "0xFF at ", "byte 1 (");
        yield return BytesCase("4-byte characters as raw UTF-8", Encoding.UTF8.GetBytes(TestCompletions.Json("\"𝄞😀🀄 \U0010FFFF\"")), null);

        foreach (var number in StorableNumbers)
        {
            yield return JsonCase($"number {number} in an extension", TestCompletions.Json().Replace("\"object\":", $"\"x_big\":{number},\"object\":", StringComparison.Ordinal), null);
            yield return JsonCase($"number {number} nested in a message extension", TestCompletions.Json($"\"Hi\",\"x_vendor\":{{\"n\":[{number},{{\"m\":{number}}}]}}"), null);
        }

        foreach (var number in UnstorableNumbers)
        {
            yield return JsonCase($"number {number} in an extension", TestCompletions.Json().Replace("\"object\":", $"\"x_big\":{number},\"object\":", StringComparison.Ordinal), ("x_big", ChatCompletionValidationRule.OutOfRange));
            yield return JsonCase($"number {number} nested in a message extension", TestCompletions.Json($"\"Hi\",\"x_vendor\":{{\"n\":[1,{{\"m\":{number}}}]}}"), ("choices[0].message.x_vendor.n[1].m", ChatCompletionValidationRule.OutOfRange));
            yield return ObjectCase($"number {number} in the call's request", () => With(c => c.Call = new ChatCompletionCall { StartedAt = c.Created, Request = Element($"{{\"temperature\":{number}}}") }), ("call.request.temperature", ChatCompletionValidationRule.OutOfRange));
        }

        yield return JsonCase("choice index past int32", TestCompletions.Json().Replace("\"index\":0", "\"index\":2147483648", StringComparison.Ordinal), ("choices[0].index", ChatCompletionValidationRule.InvalidValue));
        yield return JsonCase("token counts at int64's maximum", TestCompletions.Json().Replace("\"prompt_tokens\":1", "\"prompt_tokens\":9223372036854775807", StringComparison.Ordinal), null);
        yield return JsonCase("a logprob past double", TestCompletions.Json("\"Hi\"},\"logprobs\":{\"content\":[{\"token\":\"t\",\"logprob\":1e309,\"bytes\":null}]").Replace("}},\"finish_reason\"", "},\"finish_reason\"", StringComparison.Ordinal), ("choices[0].logprobs.content[0].logprob", ChatCompletionValidationRule.OutOfRange));
        yield return ObjectCase("a NaN logprob", () => With(c => c.Choices[0].Logprobs = new ChatLogprobs { Content = [new ChatTokenLogprob { Token = "t", Logprob = double.NaN }] }), ("choices[0].logprobs.content[0].logprob", ChatCompletionValidationRule.OutOfRange));
        yield return ObjectCase("an infinite top logprob", () => With(c => c.Choices[0].Logprobs = new ChatLogprobs
        {
            Content = [new ChatTokenLogprob { Token = "t", Logprob = 0, TopLogprobs = [new ChatTopLogprob { Token = "u", Logprob = double.NegativeInfinity }] }],
        }), ("choices[0].logprobs.content[0].top_logprobs[0].logprob", ChatCompletionValidationRule.OutOfRange));

        // Nesting: the wire format allows 64 levels in all; parsing and building in code must agree on the edge.
        yield return JsonCase("extension JSON 60 levels deep", TestCompletions.Json().Replace("\"object\":", $"\"x_deep\":{Nested(60)},\"object\":", StringComparison.Ordinal), null);
        yield return JsonCase("extension JSON 64 levels deep", TestCompletions.Json().Replace("\"object\":", $"\"x_deep\":{Nested(64)},\"object\":", StringComparison.Ordinal), ("x_deep", ChatCompletionValidationRule.MalformedJson));
        yield return ObjectCase("extension JSON 63 levels deep built in code", () => With(c => c.AdditionalProperties = new Dictionary<string, JsonElement> { ["x_deep"] = Element(Nested(63)) }), null);
        yield return ObjectCase("extension JSON 100 levels deep built in code", () => With(c => c.AdditionalProperties = new Dictionary<string, JsonElement> { ["x_deep"] = Element(Nested(100)) }),
            ("x_deep" + string.Concat(Enumerable.Repeat("[0]", 63)), ChatCompletionValidationRule.TooLarge));
        yield return ObjectCase("message extension JSON 100 levels deep built in code", () => With(c => c.Choices[0].Message.AdditionalProperties = new Dictionary<string, JsonElement> { ["x_deep"] = Element(Nested(100)) }),
            ("choices[0].message.x_deep" + string.Concat(Enumerable.Repeat("[0]", 60)), ChatCompletionValidationRule.TooLarge));
        yield return ObjectCase("a request 63 levels deep", () => With(c => c.Call = new ChatCompletionCall { StartedAt = c.Created, Request = Element($"{{\"messages\":[],\"x\":{Nested(63)}}}") }), null);
        yield return ObjectCase("a request 200 levels deep", () => With(c => c.Call = new ChatCompletionCall { StartedAt = c.Created, Request = Element($"{{\"messages\":[],\"x\":{Nested(200)}}}") }),
            ("call.request.x" + string.Concat(Enumerable.Repeat("[0]", 63)), ChatCompletionValidationRule.TooLarge));
        yield return JsonCase("a member name twice in extension JSON", TestCompletions.Json().Replace("\"object\":", "\"x_dup\":{\"a\":1,\"a\":2},\"object\":", StringComparison.Ordinal), ("x_dup", ChatCompletionValidationRule.MalformedJson));
        yield return ObjectCase("a member name twice in extension JSON built in code", () => With(c => c.AdditionalProperties = new Dictionary<string, JsonElement> { ["x_dup"] = Element("{\"a\":1,\"b\":[],\"a\":1}") }), ("x_dup.a", ChatCompletionValidationRule.MalformedJson));
        yield return ObjectCase("an extension member named like a typed one", () => With(c => c.Choices[0].Message.AdditionalProperties = new Dictionary<string, JsonElement> { ["content"] = Element("\"shadow\"") }), ("choices[0].message.content", ChatCompletionValidationRule.InvalidValue));

        // created at the edges of DateTimeOffset (years 1 and 9999) and of the Unix epoch. The very first tick is what
        // Npgsql sends as -infinity, so it is refused; the second after it is stored as itself.
        yield return ObjectCase("created DateTimeOffset.MinValue", () => With(c => c.Created = DateTimeOffset.MinValue), ("created", ChatCompletionValidationRule.OutOfRange));
        foreach (var created in new[] { DateTimeOffset.MinValue.AddSeconds(1), DateTimeOffset.MaxValue, DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch.AddSeconds(-1), new DateTimeOffset(1582, 10, 15, 0, 0, 0, TimeSpan.Zero) })
        {
            yield return ObjectCase($"created {created:O}", () => With(c => c.Created = created), null);
        }

        yield return ObjectCase("call started at DateTimeOffset.MinValue", () => With(c => c.Call = new ChatCompletionCall { StartedAt = DateTimeOffset.MinValue }), ("call.started_at", ChatCompletionValidationRule.OutOfRange));
        yield return ObjectCase("call started a microsecond after DateTimeOffset.MinValue", () => With(c => c.Call = new ChatCompletionCall
        {
            StartedAt = DateTimeOffset.MinValue.AddTicks(10), Latency = TimeSpan.MaxValue, TimeToFirstToken = TimeSpan.Zero,
        }), null);
        yield return ObjectCase("call started at the end of time", () => With(c => c.Call = new ChatCompletionCall { StartedAt = DateTimeOffset.MaxValue }), null);
        yield return JsonCase("created -62135596800 Unix seconds", TestCompletions.Json().Replace("\"created\":1764000000", "\"created\":-62135596800", StringComparison.Ordinal), ("created", ChatCompletionValidationRule.OutOfRange));
        foreach (var seconds in new[] { -62_135_596_799L, 253_402_300_799L, 0L, -1L })
        {
            yield return JsonCase($"created {seconds} Unix seconds", TestCompletions.Json().Replace("\"created\":1764000000", $"\"created\":{seconds}", StringComparison.Ordinal), null);
        }

        // Multi-megabyte values: under the content limit they round-trip, over it they are rejected before any work.
        yield return ObjectCase("3 MB of content with 4-byte characters", () => With(c => c.Choices[0].Message.Content = string.Concat(Enumerable.Repeat("𝄞 ü 😀 ", 400_000))), null);
        yield return ObjectCase("content one character over the 4 MB limit", () => With(c => c.Choices[0].Message.Content = new string('x', (4 * 1024 * 1024) + 1)), ("choices[0].message.content", ChatCompletionValidationRule.TooLarge));
        yield return ObjectCase("2 MB of tool arguments", () => With(c => c.Choices[0].Message.ToolCalls = [Tool(arguments: "{\"q\":\"" + new string('a', 2_000_000) + "\"}")]), null);
        yield return JsonCase("a 3 MB extension string", TestCompletions.Json().Replace("\"object\":", $"\"x_blob\":\"{string.Concat(Enumerable.Repeat("\\u00e9\\\"'", 500_000))}\",\"object\":", StringComparison.Ordinal), null);

        foreach (var (valueName, value, _) in HostileStrings.Where(h => h.Rule is null).Append(("LIKE wildcards", "%_%", null)).Append(("a quote-OR injection", "acme' OR '1'='1", null)))
        {
            yield return QueryCase($"{valueName} as a tenant", runner => runner.TenantAsync(value));
            yield return QueryCase($"{valueName} as ids, cursors and metadata in the other query paths", runner => runner.QueryPathsAsync(value));
        }

        foreach (var (valueName, value, _) in HostileStrings.Where(h => h.Rule is not null).Append(("a 257-character", new string('t', 257), null)).Append(("an empty", "", null)))
        {
            yield return QueryCase($"{valueName} tenant", runner => runner.BadTenantAsync(value));
        }

        yield return QueryCase("date bounds at the edges of DateTimeOffset", runner => runner.DateBoundsAsync());
    }

    private static Case ObjectCase(string name, Func<ChatCompletion> build, (string Field, ChatCompletionValidationRule Rule)? reject) =>
        new(name, reject is null ? HostileInputRunner.RoundTrip : $"{reject.Value.Field} {reject.Value.Rule}", runner => runner.StoreAsync(name, build, reject));

    private static Case JsonCase(string name, string json, (string Field, ChatCompletionValidationRule Rule)? reject) =>
        new(name, reject is null ? HostileInputRunner.RoundTrip : $"{reject.Value.Field} {reject.Value.Rule}", runner => runner.ParseAndStoreAsync(name, json, reject));

    private static Case BytesCase(string name, byte[] utf8, (string Field, ChatCompletionValidationRule Rule)? reject, params string[] detail) =>
        new(name, reject is null ? HostileInputRunner.RoundTrip : $"{reject.Value.Field} {reject.Value.Rule}", runner => runner.ParseBytesAndStoreAsync(name, utf8, reject, detail));

    private static Case QueryCase(string name, Func<HostileInputRunner, Task<HostileAttempt>> run) =>
        new(name, HostileInputRunner.RoundTrip, async runner => [await run(runner)]);

    private static ChatCompletion With(Action<ChatCompletion> change)
    {
        var completion = TestCompletions.Completion();
        completion.Metadata!["k"] = "v";
        change(completion);
        return completion;
    }

    /// <summary>The UTF-8 of <paramref name="template"/> with its <c>~</c> replaced by <paramref name="bytes"/>.</summary>
    private static byte[] Spliced(string template, byte[] bytes)
    {
        var at = template.IndexOf('~', StringComparison.Ordinal);
        return [.. Encoding.UTF8.GetBytes(template[..at]), .. bytes, .. Encoding.UTF8.GetBytes(template[(at + 1)..])];
    }

    private static ChatToolCall Tool(string id = "call_1", string name = "f", string arguments = "{}") =>
        new() { Id = id, Type = "function", Function = new ChatFunction { Name = name, Arguments = arguments } };

    private static string Nested(int depth) => string.Concat(Enumerable.Repeat("[", depth)) + "1" + string.Concat(Enumerable.Repeat("]", depth));

    private static JsonElement Element(string json)
    {
        using var document = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 1000 });
        return document.RootElement.Clone();
    }

    // A JSON string literal escaping every non-ASCII and special UTF-16 unit, so lone surrogates and NUL survive into the element.
    private static string Quote(string value)
    {
        var builder = new StringBuilder("\"");
        foreach (var c in value)
        {
            builder.Append(c is >= ' ' and < '\u007f' and not '"' and not '\\' ? c.ToString() : $"\\u{(int)c:x4}");
        }

        return builder.Append('"').ToString();
    }

    private sealed record Case(string Name, string Expected, Func<HostileInputRunner, Task<IReadOnlyList<HostileAttempt>>> Run);
}

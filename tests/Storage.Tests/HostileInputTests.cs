using System.Text;
using System.Text.Json;
using Npgsql;
using Storage.Internal;

namespace Storage.Tests;

/// <summary>
/// Issue 5: hostile input in every string field, in metadata keys and values and in extension JSON; 4-byte characters,
/// multi-megabyte values, deep nesting, numbers past int64 and past PostgreSQL's numeric, <c>created</c> at the edges of
/// .NET and PostgreSQL, and SQL and JSON metacharacters in the query paths <see cref="QueryHostileValueTests"/> does not
/// cover (tenants, message listing, id lookups, date bounds, metadata updates). Each input goes through every path that
/// takes it (<see cref="ChatCompletionJson.Parse(string)"/>, <c>SaveAsync</c>, <c>SaveManyAsync</c>) and must either
/// round-trip exactly (same canonical JSON and content hash, same call record, a finite <c>created</c> in the table) or be
/// rejected with a <see cref="ChatCompletionValidationException"/> naming the field, with nothing stored.
/// </summary>
public sealed class HostileInputTests(MigratedDatabase database) : IClassFixture<MigratedDatabase>
{
    private const string RoundTrip = "round trip";

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

    private delegate Task<IReadOnlyList<Attempt>> Run(Runner runner);

    private enum Kind
    {
        RoundTripped,
        RejectedCleanly,
        StoredWrongly,
        Mismatched,
    }

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public static TheoryData<string> CaseNames() => [.. Cases.Keys];

    [Theory]
    [MemberData(nameof(CaseNames))]
    public async Task A_hostile_input_round_trips_exactly_or_is_rejected_naming_the_field_with_nothing_stored(string name)
    {
        var attempts = await Cases[name].Run(new Runner(database, $"h-{Guid.NewGuid():N}"));

        Assert.NotEmpty(attempts);
        Assert.All(attempts, a => Assert.True(a.Kind is Kind.RoundTripped or Kind.RejectedCleanly, $"{a.Path}: {a.Kind}: {a.Detail}"));
    }

    [Fact]
    public async Task Every_hostile_input_is_round_tripped_or_rejected_cleanly_and_none_is_stored_wrongly()
    {
        var runner = new Runner(database, $"all-{Guid.NewGuid():N}");
        var attempts = new List<Attempt>();
        foreach (var chunk in Cases.Values.Chunk(8))
        {
            foreach (var done in await Task.WhenAll(chunk.Select(c => c.Run(runner))))
            {
                attempts.AddRange(done);
            }
        }

        var count = attempts.CountBy(a => a.Kind).ToDictionary();
        var summary = $"hostile inputs: {attempts.Count} tried, round-tripped {count.GetValueOrDefault(Kind.RoundTripped)}, "
            + $"rejected cleanly {count.GetValueOrDefault(Kind.RejectedCleanly)}, stored wrongly {count.GetValueOrDefault(Kind.StoredWrongly)}";
        TestContext.Current.SendDiagnosticMessage(summary);
        TestContext.Current.TestOutputHelper?.WriteLine(summary);
        foreach (var failed in attempts.Where(a => a.Kind is Kind.StoredWrongly or Kind.Mismatched).Take(20))
        {
            TestContext.Current.TestOutputHelper?.WriteLine($"  {failed.Path}: {failed.Kind}: {failed.Detail}");
        }

        Assert.Equal(0, count.GetValueOrDefault(Kind.StoredWrongly));
        Assert.Equal(0, count.GetValueOrDefault(Kind.Mismatched));
        Assert.True(count.GetValueOrDefault(Kind.RoundTripped) > 100, summary);
        Assert.True(count.GetValueOrDefault(Kind.RejectedCleanly) > 100, summary);
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
        new(name, reject is null ? RoundTrip : $"{reject.Value.Field} {reject.Value.Rule}", runner => runner.StoreAsync(name, build, reject));

    private static Case JsonCase(string name, string json, (string Field, ChatCompletionValidationRule Rule)? reject) =>
        new(name, reject is null ? RoundTrip : $"{reject.Value.Field} {reject.Value.Rule}", runner => runner.ParseAndStoreAsync(name, json, reject));

    private static Case QueryCase(string name, Func<Runner, Task<Attempt>> run) =>
        new(name, RoundTrip, async runner => [await run(runner)]);

    private static ChatCompletion With(Action<ChatCompletion> change)
    {
        var completion = TestCompletions.Completion();
        completion.Metadata!["k"] = "v";
        change(completion);
        return completion;
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

    private sealed record Case(string Name, string Expected, Run Run);

    private sealed record Attempt(string Path, Kind Kind, string Detail);

    private sealed class Runner(MigratedDatabase database, string prefix)
    {
        private int _sequence;

        public async Task<IReadOnlyList<Attempt>> ParseAndStoreAsync(string name, string json, (string Field, ChatCompletionValidationRule Rule)? reject)
        {
            ChatCompletion parsed;
            try
            {
                parsed = ChatCompletionJson.Parse(json);
            }
            catch (ChatCompletionValidationException e)
            {
                return [Rejected($"{name} / Parse", e, reject, nothingStored: true)];
            }

            var difference = JsonAssert.FirstDifferenceOf(json, ChatCompletionJson.Serialize(parsed));
            var parse = new Attempt($"{name} / Parse", difference is null ? Kind.RoundTripped : Kind.StoredWrongly, difference ?? "");
            return [parse, .. await StoreAsync(name, () => ChatCompletionJson.Parse(json), reject)];
        }

        public async Task<IReadOnlyList<Attempt>> StoreAsync(string name, Func<ChatCompletion> build, (string Field, ChatCompletionValidationRule Rule)? reject)
        {
            var attempts = new List<Attempt>();
            foreach (var bulk in new[] { false, true })
            {
                var path = $"{name} / {(bulk ? "SaveManyAsync" : "SaveAsync")}";
                var tenant = $"{prefix}-{Interlocked.Increment(ref _sequence)}";
                await using var root = database.CreateStore();
                var store = root.ForTenant(tenant);
                var completion = build();
                ChatCompletionStoreException? error = null;
                try
                {
                    if (bulk)
                    {
                        var result = Assert.Single(await store.SaveManyAsync([completion], Token).ToListAsync(Token));
                        error = result.Error;
                    }
                    else
                    {
                        await store.SaveAsync(completion, Token);
                    }
                }
                catch (ChatCompletionStoreException e)
                {
                    error = e;
                }

                var rows = await RowsAsync(tenant);
                attempts.Add(error is not null
                    ? Rejected(path, error, reject, rows == 0)
                    : await ReadBackAsync(path, store, tenant, completion, reject));
            }

            return attempts;
        }

        public async Task<Attempt> TenantAsync(string tenant)
        {
            var path = $"tenant {Show(tenant)}";
            await using var root = database.CreateStore();
            var store = root.ForTenant(prefix + tenant);
            var completion = TestCompletions.Completion();
            await store.SaveAsync(completion, Token);
            var mine = await store.ListAsync(limit: 100, cancellationToken: Token);
            var theirs = await root.ForTenant(prefix + "other").GetAsync(completion.Id, Token);
            var unscoped = await root.GetAsync(completion.Id, Token);
            var usage = await store.GetUsageAsync(cancellationToken: Token);
            var ok = mine.Items.Count == 1 && mine.Items[0].Id == completion.Id && theirs is null && unscoped is null && usage[0].Completions == 1
                && store.Tenant == prefix + tenant && await RowsAsync(prefix + tenant) == 2;
            return new(path, ok ? Kind.RoundTripped : Kind.StoredWrongly, $"listed {mine.Items.Count}, other tenant {theirs?.Id}, unscoped {unscoped?.Id}");
        }

        public async Task<Attempt> BadTenantAsync(string tenant)
        {
            var path = $"tenant {Show(tenant)}";
            await using var root = database.CreateStore();
            try
            {
                root.ForTenant(tenant);
                return new(path, Kind.Mismatched, "accepted");
            }
            catch (ArgumentException e) when (e.ParamName == "tenant")
            {
                return new(path, Kind.RejectedCleanly, e.Message);
            }
        }

        public async Task<Attempt> QueryPathsAsync(string value)
        {
            var path = $"query paths with {Show(value)}";
            await using var root = database.CreateStore();
            var tenant = $"{prefix}-q{Interlocked.Increment(ref _sequence)}";
            var store = root.ForTenant(tenant);
            var completion = TestCompletions.Completion();
            completion.Call = new ChatCompletionCall { StartedAt = completion.Created, Request = Element("{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}") };
            await store.SaveAsync(completion, Token);
            var problems = new List<string>();
            if (await store.GetAsync(value, Token) is not null || (await store.FindAsync(value, Token)).Count != 0)
            {
                problems.Add("id lookup matched");
            }

            await Expect<ChatCompletionNotFoundException>(() => store.ListMessagesAsync(value, cancellationToken: Token), "messages of an unknown id");
            await Expect<ChatCompletionNotFoundException>(() => store.ListMessagesAsync(completion.Id, after: value, cancellationToken: Token), "messages after an unknown message");
            var messages = await store.ListMessagesAsync(completion.Id, cancellationToken: Token);
            if (messages.Items.Count != 1)
            {
                problems.Add($"{messages.Items.Count} messages");
            }

            // Metadata keys and values holding metacharacters are data: stored, found by an exact filter, nothing else.
            var metadata = new Dictionary<string, string> { [value] = value, ["k"] = value };
            await store.UpdateMetadataAsync(completion.Id, metadata, cancellationToken: Token);
            var read = await store.GetAsync(completion.Id, Token);
            if (read?.Metadata is not { } stored || stored.Count != 2 || stored[value] != value || stored["k"] != value)
            {
                problems.Add("metadata did not round-trip");
            }

            var exact = await store.ListAsync(new ChatCompletionFilter { Metadata = new Dictionary<string, string> { [value] = value } }, cancellationToken: Token);
            var near = await store.ListAsync(new ChatCompletionFilter { Metadata = new Dictionary<string, string> { [value] = value + " " } }, cancellationToken: Token);
            var byKey = await store.GetUsageAsync(grouping: new ChatCompletionUsageGrouping { ByMetadataKey = value }, cancellationToken: Token);
            if (exact.Items.Count != 1 || near.Items.Count != 0 || byKey.Single().MetadataValue != value)
            {
                problems.Add($"filters: exact {exact.Items.Count}, near {near.Items.Count}, by key {byKey.Single().MetadataValue}");
            }

            if (await store.DeleteAsync(value, Token) || await RowsAsync(tenant) != 2)
            {
                problems.Add("a delete by the value removed something");
            }

            return new(path, problems.Count == 0 ? Kind.RoundTripped : Kind.StoredWrongly, string.Join("; ", problems));

            async Task Expect<T>(Func<Task> action, string what)
                where T : Exception
            {
                try
                {
                    await action();
                    problems.Add($"{what}: no error");
                }
                catch (T)
                {
                }
            }
        }

        public async Task<Attempt> DateBoundsAsync()
        {
            await using var root = database.CreateStore();
            var tenant = $"{prefix}-dates";
            var store = root.ForTenant(tenant);
            var early = TestCompletions.Completion();
            early.Created = DateTimeOffset.MinValue.AddSeconds(1);
            var late = TestCompletions.Completion();
            late.Created = DateTimeOffset.MaxValue;
            await store.SaveAsync(early, Token);
            await store.SaveAsync(late, Token);
            var all = new ChatCompletionFilter { CreatedFrom = DateTimeOffset.MinValue, CreatedTo = DateTimeOffset.MaxValue };
            var listed = await store.ListAsync(all, limit: 10, cancellationToken: Token);
            var exported = await store.ExportAsync(all, Token).CountAsync(Token);
            var first = await store.ListAsync(new ChatCompletionFilter { CreatedTo = DateTimeOffset.MinValue.AddSeconds(2) }, cancellationToken: Token);
            var usage = await store.GetUsageAsync(all, new ChatCompletionUsageGrouping { ByDay = true }, Token);
            var deleted = await store.DeleteCreatedBeforeAsync(DateTimeOffset.MinValue.AddSeconds(2), cancellationToken: Token);
            var ok = listed.Items.Count == 2 && exported == 2 && first.Items.SingleOrDefault()?.Id == early.Id && usage.Sum(u => u.Completions) == 2 && deleted == 1;
            return new("date bounds", ok ? Kind.RoundTripped : Kind.StoredWrongly,
                $"listed {listed.Items.Count}, exported {exported}, first {first.Items.Count}, usage {usage.Sum(u => u.Completions)} in {usage.Count} days, deleted {deleted}");
        }

        private static Attempt Rejected(string path, ChatCompletionStoreException error, (string Field, ChatCompletionValidationRule Rule)? reject, bool nothingStored)
        {
            if (!nothingStored)
            {
                return new(path, Kind.StoredWrongly, $"rejected ({error.Message}) yet rows were written");
            }

            return error is ChatCompletionValidationException validation && reject is { } expected
                && validation.Rule == expected.Rule && validation.Field.StartsWith(expected.Field, StringComparison.Ordinal)
                && validation.Message.Contains(validation.Field, StringComparison.Ordinal)
                ? new(path, Kind.RejectedCleanly, validation.Message)
                : new(path, Kind.Mismatched, $"expected {(reject is null ? RoundTrip : $"{reject.Value.Field} {reject.Value.Rule}")}, got {error.GetType().Name}: {error.Message}");
        }

        private static string Show(string value) => value.Length > 40 ? $"{value.Length} characters" : JsonSerializer.Serialize(value);

        private async Task<Attempt> ReadBackAsync(string path, ChatCompletionStore store, string tenant, ChatCompletion completion, (string Field, ChatCompletionValidationRule Rule)? reject)
        {
            var found = await store.FindAsync(completion.Id, Token);
            if (found.Count != 1)
            {
                return new(path, Kind.StoredWrongly, $"stored, but {found.Count} read back");
            }

            var read = found[0];
            var problems = new List<string>();
            if (JsonAssert.FirstDifferenceOf(ChatCompletionJson.Serialize(completion), ChatCompletionJson.Serialize(read)) is { } difference)
            {
                problems.Add(difference);
            }

            if (!ContentHash.Compute(completion, "").AsSpan().SequenceEqual(ContentHash.Compute(read, "")))
            {
                problems.Add("canonical JSON differs");
            }

            if (read.Created != completion.Created)
            {
                problems.Add($"created {read.Created:O}, sent {completion.Created:O}");
            }

            if (CallText(read.Call) != CallText(completion.Call))
            {
                problems.Add($"call {CallText(read.Call)}, sent {CallText(completion.Call)}");
            }

            if ((completion.Call?.Request, read.Call?.Request) is (null, { }) or ({ }, null))
            {
                problems.Add("the request was not read back");
            }
            else if (completion.Call?.Request is { } sent && read.Call?.Request is { } back && JsonAssert.FirstDifference(sent, back, "call.request") is { } requestDifference)
            {
                problems.Add(requestDifference);
            }

            // -infinity or infinity would read back as the .NET extremes but sort and filter as no real date does.
            if (await ScalarAsync("SELECT count(*) FROM chat_completions WHERE tenant = $1 AND NOT (isfinite(created) AND (call_started_at IS NULL OR isfinite(call_started_at)))", tenant) != 0)
            {
                problems.Add("a timestamp was stored as infinity");
            }

            if (problems.Count > 0)
            {
                return new(path, Kind.StoredWrongly, string.Join("; ", problems));
            }

            return reject is null
                ? new(path, Kind.RoundTripped, "")
                : new(path, Kind.Mismatched, $"expected a rejection at {reject.Value.Field}, but it was stored (and read back exactly)");
        }

        private static string CallText(ChatCompletionCall? call) =>
            call is null ? "none" : $"{call.StartedAt:O} {call.Latency} {call.TimeToFirstToken} {call.TraceId} {call.SpanId}";

        private Task<long> RowsAsync(string tenant) =>
            ScalarAsync("SELECT (SELECT count(*) FROM chat_completions WHERE tenant = $1) + (SELECT count(*) FROM chat_completion_choices WHERE tenant = $1)", tenant);

        private async Task<long> ScalarAsync(string sql, string tenant)
        {
            await using var command = database.DataSource.CreateCommand(sql);
            command.Parameters.Add(new NpgsqlParameter { Value = tenant });
            return (long)(await command.ExecuteScalarAsync(Token))!;
        }
    }
}

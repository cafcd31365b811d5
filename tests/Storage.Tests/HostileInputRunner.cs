using System.Text;
using System.Text.Json;
using Npgsql;
using Storage.Internal;

namespace Storage.Tests;

/// <summary>What became of one hostile input on one path.</summary>
internal enum HostileOutcome
{
    /// <summary>Stored and read back exactly (or, for a query, answered exactly).</summary>
    RoundTripped,

    /// <summary>Refused with a <see cref="ChatCompletionValidationException"/> naming the expected field and rule, nothing stored.</summary>
    RejectedCleanly,

    /// <summary>Stored, but not as given, or rows written although it was refused.</summary>
    StoredWrongly,

    /// <summary>Handled safely, but not as the case expected (another field, rule or exception).</summary>
    Mismatched,
}

/// <summary>One input tried on one path (<c>Parse</c>, <c>SaveAsync</c>, <c>SaveManyAsync</c>, a query), and what became of it.</summary>
internal sealed record HostileAttempt(string Path, HostileOutcome Kind, string Detail);

/// <summary>
/// The machinery of <see cref="HostileInputTests"/> (issue 12 asked for it apart from the cases): tries an input through every
/// path that takes it, each on a tenant of its own, reads back what was stored and compares it with what was given, and
/// counts the outcomes.
/// </summary>
internal sealed class HostileInputRunner(MigratedDatabase database, string prefix)
{
    public const string RoundTrip = "round trip";

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: true, throwOnInvalidBytes: true);

    private int _sequence;

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    /// <summary>Runs the cases, eight at a time, and gathers every attempt.</summary>
    public async Task<IReadOnlyList<HostileAttempt>> TryAllAsync(IEnumerable<Func<HostileInputRunner, Task<IReadOnlyList<HostileAttempt>>>> cases)
    {
        var attempts = new List<HostileAttempt>();
        foreach (var chunk in cases.Chunk(8))
        {
            foreach (var done in await Task.WhenAll(chunk.Select(run => run(this))))
            {
                attempts.AddRange(done);
            }
        }

        return attempts;
    }

    /// <summary>The line CI repeats: <c>hostile inputs: N tried, round-tripped R, rejected cleanly C, stored wrongly W</c>.</summary>
    public static string Summary(IReadOnlyCollection<HostileAttempt> attempts)
    {
        var count = Counts(attempts);
        return $"hostile inputs: {attempts.Count} tried, round-tripped {count.GetValueOrDefault(HostileOutcome.RoundTripped)}, "
            + $"rejected cleanly {count.GetValueOrDefault(HostileOutcome.RejectedCleanly)}, stored wrongly {count.GetValueOrDefault(HostileOutcome.StoredWrongly)}";
    }

    public static Dictionary<HostileOutcome, int> Counts(IEnumerable<HostileAttempt> attempts) => attempts.CountBy(a => a.Kind).ToDictionary();

    public async Task<IReadOnlyList<HostileAttempt>> ParseAndStoreAsync(string name, string json, (string Field, ChatCompletionValidationRule Rule)? reject)
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
        var parse = new HostileAttempt($"{name} / Parse", difference is null ? HostileOutcome.RoundTripped : HostileOutcome.StoredWrongly, difference ?? "");
        return [parse, .. await StoreAsync(name, () => ChatCompletionJson.Parse(json), reject)];
    }

    /// <summary>
    /// Parses bytes through both byte overloads, span and stream: refused, the error must name the expected field and rule
    /// and hold each of <paramref name="detail"/> (where the bad byte is); accepted, the completion must be what the bytes
    /// say, decoded strictly, and is then stored as <see cref="StoreAsync"/> does.
    /// </summary>
    public async Task<IReadOnlyList<HostileAttempt>> ParseBytesAndStoreAsync(
        string name, byte[] utf8, (string Field, ChatCompletionValidationRule Rule)? reject, IReadOnlyList<string> detail)
    {
        var attempts = new List<HostileAttempt>();
        var accepted = false;
        foreach (var stream in new[] { false, true })
        {
            var path = $"{name} / {(stream ? "ParseAsync(Stream)" : "Parse(bytes)")}";
            ChatCompletion parsed;
            try
            {
                parsed = stream ? await ChatCompletionJson.ParseAsync(new MemoryStream(utf8, writable: false), Token) : ChatCompletionJson.Parse(utf8);
            }
            catch (ChatCompletionValidationException e)
            {
                var rejected = Rejected(path, e, reject, nothingStored: true);
                attempts.Add(rejected.Kind == HostileOutcome.RejectedCleanly && detail.FirstOrDefault(d => !e.Message.Contains(d, StringComparison.Ordinal)) is { } missing
                    ? new(path, HostileOutcome.Mismatched, $"the message does not say \"{missing}\": {e.Message}")
                    : rejected);
                continue;
            }

            accepted = true;
            string sent;
            try
            {
                sent = StrictUtf8.GetString(utf8.AsSpan().StartsWith(StrictUtf8.Preamble) ? utf8[3..] : utf8);
            }
            catch (DecoderFallbackException)
            {
                attempts.Add(new(path, HostileOutcome.StoredWrongly, $"invalid UTF-8 was accepted, as {JsonSerializer.Serialize(ChatCompletionJson.Serialize(parsed))}"));
                continue;
            }

            var difference = JsonAssert.FirstDifferenceOf(sent, ChatCompletionJson.Serialize(parsed));
            attempts.Add(new(path, difference is null ? HostileOutcome.RoundTripped : HostileOutcome.StoredWrongly, difference ?? ""));
        }

        return accepted ? [.. attempts, .. await StoreAsync(name, () => ChatCompletionJson.Parse(utf8), reject)] : attempts;
    }

    public async Task<IReadOnlyList<HostileAttempt>> StoreAsync(string name, Func<ChatCompletion> build, (string Field, ChatCompletionValidationRule Rule)? reject)
    {
        var attempts = new List<HostileAttempt>();
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

    public async Task<HostileAttempt> TenantAsync(string tenant)
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
        return new(path, ok ? HostileOutcome.RoundTripped : HostileOutcome.StoredWrongly, $"listed {mine.Items.Count}, other tenant {theirs?.Id}, unscoped {unscoped?.Id}");
    }

    public async Task<HostileAttempt> BadTenantAsync(string tenant)
    {
        var path = $"tenant {Show(tenant)}";
        await using var root = database.CreateStore();
        try
        {
            root.ForTenant(tenant);
            return new(path, HostileOutcome.Mismatched, "accepted");
        }
        catch (ArgumentException e) when (e.ParamName == "tenant")
        {
            return new(path, HostileOutcome.RejectedCleanly, e.Message);
        }
    }

    public async Task<HostileAttempt> QueryPathsAsync(string value)
    {
        var path = $"query paths with {Show(value)}";
        await using var root = database.CreateStore();
        var tenant = $"{prefix}-q{Interlocked.Increment(ref _sequence)}";
        var store = root.ForTenant(tenant);
        var completion = TestCompletions.Completion();
        completion.Call = new ChatCompletionCall { StartedAt = completion.Created, Request = JsonDocument.Parse("{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}").RootElement.Clone() };
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

        return new(path, problems.Count == 0 ? HostileOutcome.RoundTripped : HostileOutcome.StoredWrongly, string.Join("; ", problems));

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

    public async Task<HostileAttempt> DateBoundsAsync()
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
        return new("date bounds", ok ? HostileOutcome.RoundTripped : HostileOutcome.StoredWrongly,
            $"listed {listed.Items.Count}, exported {exported}, first {first.Items.Count}, usage {usage.Sum(u => u.Completions)} in {usage.Count} days, deleted {deleted}");
    }

    private static HostileAttempt Rejected(string path, ChatCompletionStoreException error, (string Field, ChatCompletionValidationRule Rule)? reject, bool nothingStored)
    {
        if (!nothingStored)
        {
            return new(path, HostileOutcome.StoredWrongly, $"rejected ({error.Message}) yet rows were written");
        }

        return error is ChatCompletionValidationException validation && reject is { } expected
            && validation.Rule == expected.Rule && validation.Field.StartsWith(expected.Field, StringComparison.Ordinal)
            && validation.Message.Contains(validation.Field, StringComparison.Ordinal)
            ? new(path, HostileOutcome.RejectedCleanly, validation.Message)
            : new(path, HostileOutcome.Mismatched, $"expected {(reject is null ? RoundTrip : $"{reject.Value.Field} {reject.Value.Rule}")}, got {error.GetType().Name}: {error.Message}");
    }

    private static string Show(string value) => value.Length > 40 ? $"{value.Length} characters" : JsonSerializer.Serialize(value);

    private async Task<HostileAttempt> ReadBackAsync(string path, ChatCompletionStore store, string tenant, ChatCompletion completion, (string Field, ChatCompletionValidationRule Rule)? reject)
    {
        var found = await store.FindAsync(completion.Id, Token);
        if (found.Count != 1)
        {
            return new(path, HostileOutcome.StoredWrongly, $"stored, but {found.Count} read back");
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
            return new(path, HostileOutcome.StoredWrongly, string.Join("; ", problems));
        }

        return reject is null
            ? new(path, HostileOutcome.RoundTripped, "")
            : new(path, HostileOutcome.Mismatched, $"expected a rejection at {reject.Value.Field}, but it was stored (and read back exactly)");
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

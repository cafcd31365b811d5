using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Npgsql;

namespace Storage.Benchmarks;

/// <summary>
/// Read latencies on a large data set: each query through the store next to the same query hand-written for plain
/// Npgsql, and the plans of the hand-written ones. The page queries send the same shape of SQL as EF does and read the
/// same columns and rows (the page plus one telling whether more follow, choices joined), and every iteration checks
/// that both sides returned the same completions: their ratio is the library's own cost, EF's query pipeline and
/// materialization into the model. The hand-written usage query leaves out the library's per-row jsonb type guard, so
/// its ratio is mostly what that guard costs.
/// </summary>
internal sealed partial class QueryBenchmarks(NpgsqlDataSource dataSource, ChatCompletionStore store, int rows, TimeSpan span)
{
    public const int Seed = 2;
    private const int Limit = 20;

    // The columns the library reads, as EF spells them (xmin is its version, content_hash part of the entity).
    private const string CompletionColumns =
        "c.completion_key, c.created, c.content_hash, c.id, c.metadata, c.model, c.object, c.service_tier, c.stored_at, c.extras, " +
        "c.system_fingerprint, c.xmin, c.usage_completion_tokens, c.usage_completion_tokens_details, c.usage_prompt_tokens, " +
        "c.usage_prompt_tokens_details, c.usage_extras, c.usage_total_tokens, c.call_started_at, c.call_request, c.call_latency, " +
        "c.call_time_to_first_token, c.call_trace_id, c.call_span_id";

    private const string ChoiceColumns =
        "h.index, h.finish_reason, h.logprobs, h.extras, h.message_annotations, h.message_audio, h.message_content_parts, " +
        "h.message_content, h.message_function_call, h.message_reasoning, h.message_reasoning_content, h.message_refusal, " +
        "h.message_role, h.message_extras, h.message_tool_calls";

    private const string Newest = "c.created DESC, c.completion_key DESC";
    private const string LatestStored = "c.stored_at DESC, c.completion_key DESC";
    // Every hand-written query names the tenant ('' is the unscoped store), as the library does: it leads every index.
    private const string Cursor = $"SELECT c.created, c.completion_key FROM chat_completions c WHERE c.tenant = '' AND c.id = $1 ORDER BY {LatestStored} LIMIT 1";

    // The library's sums over the rows, minus its guard that skips non-numeric detail values (none here). The library
    // reads whole days from the per-day rollup instead; this is the scan it replaces.
    private const string Usage = """
        SELECT c.model, count(*), sum(c.usage_prompt_tokens), sum(c.usage_completion_tokens), sum(c.usage_total_tokens),
            sum((c.usage_prompt_tokens_details ->> 'cached_tokens')::numeric),
            sum((c.usage_completion_tokens_details ->> 'reasoning_tokens')::numeric)
        FROM chat_completions c WHERE c.tenant = '' AND c.created >= $1 AND c.created <= $2 GROUP BY c.model ORDER BY c.model
        """;

    /// <summary>Per iteration, fresh parameters and the two ways of running the query; each returns what it got, to compare.</summary>
    private sealed record Case(string Name, Func<Random, Task<Pair>> Make);

    private sealed record Pair(Func<Task<string>> Library, Func<Task<string>> Hand);

    private sealed record Timed(string Result, double Milliseconds);

    /// <summary>
    /// Writes the data set through the bulk path from a generator, so memory stays flat at any size, into the partitions
    /// of its months; then VACUUM ANALYZE, and the usage rollups' stripes folded as a deployment's maintenance does.
    /// </summary>
    /// <param name="resume">Keep what an interrupted load of the same data set stored (a prefix: batches commit in order) and load the rest.</param>
    public async Task LoadAsync(bool resume = false)
    {
        var skip = resume ? await dataSource.ScalarAsync<long>("SELECT count(*) FROM chat_completions") : 0;
        if (!resume)
        {
            await dataSource.ExecuteAsync("TRUNCATE chat_completions, chat_completion_choices");
        }

        // A deployment that has run through the span made each month's partitions ahead of time (the hosted service or
        // a scheduler calling storage_ensure_partitions). A load of the past into a new database would land in the
        // default partition instead, so the benchmark, as the owner, makes the months' partitions first.
        var months = 0;
        for (var month = new DateTimeOffset(Workload.Start.Year, Workload.Start.Month, 1, 0, 0, 0, TimeSpan.Zero); month < Workload.Start + span; month = month.AddMonths(1))
        {
            months += await dataSource.ScalarAsync<bool>("SELECT storage_create_partition($1, $2)", month, month.AddMonths(1)) ? 1 : 0;
        }

        var started = Stopwatch.GetTimestamp();
        long stored = skip;
        await foreach (var result in store.SaveManyAsync(Workload.Generate(rows, Seed, span).Skip((int)skip)))
        {
            stored += result.Outcome == SaveOutcome.Stored ? 1 : throw new InvalidOperationException($"Item {result.Position} was not stored: {result.Error?.Message}");
        }

        var load = Stopwatch.GetElapsedTime(started);
        started = Stopwatch.GetTimestamp();
        await dataSource.ExecuteAsync("VACUUM ANALYZE chat_completions, chat_completion_choices");
        var vacuum = Stopwatch.GetElapsedTime(started);
        var folded = await dataSource.ScalarAsync<long>("SELECT storage_compact_usage()");
        var partitions = await dataSource.ScalarAsync<long>("SELECT count(*) FROM storage_partitions() WHERE NOT is_default AND parent = 'chat_completions'");
        Console.WriteLine(
            $"loaded {stored:N0} completions over {span.TotalDays:0} days ({partitions} monthly partitions per table, {months} made for the load) through SaveManyAsync in {load.TotalSeconds:0.0} s " +
            $"({(stored - skip) / load.TotalSeconds:N0} completions/s{(resume ? $", resumed after {skip:N0}" : "")}); VACUUM ANALYZE {vacuum.TotalSeconds:0.0} s; storage_compact_usage() folded {folded:N0} rollup rows");
    }

    /// <summary>How many completions of the data set carry a stored request, for the messages case (the bulk of it has none).</summary>
    private const int Conversations = 1_000;

    private const int ConversationSeed = 9;

    /// <summary>
    /// Completions with a stored request of 12 messages each, saved beside the data set (again on a reused database,
    /// where they are replays), for the messages case.
    /// </summary>
    private async Task AddConversationsAsync()
    {
        var conversations = Workload.Generate(Conversations, ConversationSeed, span).Select(completion =>
        {
            completion.Call = new ChatCompletionCall
            {
                StartedAt = completion.Created,
                Request = JsonSerializer.SerializeToElement(new
                {
                    model = completion.Model,
                    messages = Enumerable.Range(0, 12).Select(m => new { role = m % 2 == 0 ? "user" : "assistant", content = $"message {m} of the conversation: " + completion.Choices[0].Message.Content!.Text![..200] }),
                }),
            };
            return completion;
        });
        await foreach (var result in store.SaveManyAsync(conversations))
        {
            _ = result.Outcome is SaveOutcome.Stored or SaveOutcome.AlreadyStored ? 0 : throw new InvalidOperationException($"Conversation {result.Position} was not stored: {result.Error?.Message}");
        }
    }

    public async Task MeasureAsync(int iterations)
    {
        await AddConversationsAsync();
        // A few untimed rounds first: JIT, EF's query cache, connection pool, and the pages the queries touch.
        var warmup = Math.Max(5, iterations / 10);
        Console.WriteLine($"query latency, ms: {iterations} iterations each after {warmup} warm-up, varied parameters, library and SQL alternating which goes first");
        Console.WriteLine($"{"query",-42} {"lib median",10} {"lib p95",9} {"SQL median",10} {"SQL p95",9} {"lib/SQL",8}");
        var cases = Cases();
        for (var n = 0; n < cases.Count; n++)
        {
            var random = new Random(Seed + n);
            var (library, hand) = (new List<double>(), new List<double>());
            for (var i = -warmup; i < iterations; i++)
            {
                var pair = await cases[n].Make(random);
                // Alternating the order keeps either side from always finding the pages the other just read.
                Timed l, h;
                if (i % 2 == 0)
                {
                    l = await TimeAsync(pair.Library);
                    h = await TimeAsync(pair.Hand);
                }
                else
                {
                    h = await TimeAsync(pair.Hand);
                    l = await TimeAsync(pair.Library);
                }

                if (l.Result != h.Result)
                {
                    throw new InvalidOperationException($"{cases[n].Name}: the library returned {l.Result}, the SQL {h.Result}");
                }

                if (i >= 0)
                {
                    library.Add(l.Milliseconds);
                    hand.Add(h.Milliseconds);
                }
            }

            var (lm, hm) = (Percentile(library, 0.5), Percentile(hand, 0.5));
            Console.WriteLine($"{cases[n].Name,-42} {lm,10:0.00} {Percentile(library, 0.95),9:0.00} {hm,10:0.00} {Percentile(hand, 0.95),9:0.00} {lm / hm,8:0.00}");
        }
    }

    /// <summary>EXPLAIN ANALYZE of the hand-written equivalents, with the index each one uses picked out of the plan.</summary>
    public async Task ExplainAsync()
    {
        var day = Workload.Start.AddDays(span.TotalDays / 2);
        await ExplainAsync("get by id", PageSql("c.id = $1", LatestStored, 1), Workload.Id(Seed, rows / 2));
        await ExplainAsync("list by model", PageSql("c.model = $1", Newest, Limit + 1), Workload.Models[0]);
        await ExplainMetadataAsync(PageSql("c.metadata @> $1::jsonb", Newest, Limit + 1));
        await ExplainAsync("list one day (first page)", PageSql("c.created >= $1 AND c.created <= $2", Newest, Limit + 1), day, day.AddDays(1).AddSeconds(-1));
    }

    private List<Case> Cases() =>
    [
        new("get by id (GetAsync)", random =>
        {
            var id = Workload.Id(Seed, random.Next(rows));
            return Both(
                async () => Fingerprint(new ChatCompletionPage(await store.GetAsync(id) is { } found ? [found] : [], HasMore: false)),
                () => PageAsync(PageSql("c.id = $1", LatestStored, 1), 1, id));
        }),
        new("list by model, first page", random =>
        {
            var model = Workload.Models[random.Next(Workload.Models.Length)];
            return Both(
                async () => Fingerprint(await store.ListAsync(new ChatCompletionFilter { Model = model }, limit: Limit)),
                () => PageAsync(PageSql("c.model = $1", Newest, Limit + 1), Limit, model));
        }),
        new("list by metadata tenant=…, first page", random =>
        {
            var pair = new Dictionary<string, string> { ["tenant"] = $"tenant-{random.Next(Workload.Tenants)}" };
            return Both(
                async () => Fingerprint(await store.ListAsync(new ChatCompletionFilter { Metadata = pair }, limit: Limit)),
                () => PageAsync(PageSql("c.metadata @> $1::jsonb", Newest, Limit + 1), Limit, JsonSerializer.Serialize(pair)));
        }),
        new("list one day, first page", random =>
        {
            var (filter, from, to) = Day(random);
            return Both(
                async () => Fingerprint(await store.ListAsync(filter, limit: Limit)),
                () => PageAsync(PageSql("c.created >= $1 AND c.created <= $2", Newest, Limit + 1), Limit, from, to));
        }),
        new("list one day, second page (after=)", async random =>
        {
            var (filter, from, to) = Day(random);
            var after = (await store.ListAsync(filter, limit: Limit)).LastId!;
            return new Pair(
                async () => Fingerprint(await store.ListAsync(filter, after, Limit)),
                async () =>
                {
                    // The same two round trips as the library: resolve the id to its keyset position, then the page.
                    await using var cursor = dataSource.Command(Cursor, after);
                    await using var reader = await cursor.ExecuteReaderAsync();
                    await reader.ReadAsync();
                    var (created, key) = (reader.GetFieldValue<DateTime>(0), reader.GetInt64(1));
                    await reader.CloseAsync();
                    return await PageAsync(
                        PageSql("c.created >= $1 AND c.created <= $2 AND (c.created, c.completion_key) < ($3, $4)", Newest, Limit + 1), Limit, from, to, created, key);
                });
        }),
        new("messages of a completion (ListMessagesAsync)", random =>
        {
            var id = Workload.Id(ConversationSeed, random.Next(Conversations));
            return Both(
                async () => Invariant($"{string.Join(';', (await store.ListMessagesAsync(id)).Items.Select(m => m.GetProperty("id").GetString()))}"),
                async () =>
                {
                    // The stored request, and its messages named as the library names them ({completion id}-{index}).
                    await using var command = dataSource.Command($"SELECT c.call_request FROM chat_completions c WHERE c.tenant = '' AND c.id = $1 ORDER BY {LatestStored} LIMIT 1", id);
                    using var request = JsonDocument.Parse((string)(await command.ExecuteScalarAsync())!);
                    return string.Join(';', request.RootElement.GetProperty("messages").EnumerateArray().Take(Limit).Select((_, index) => Invariant($"{id}-{index}")));
                });
        }),
        new("usage by model, any range <= 30 days (GetUsageAsync)", random =>
        {
            // Any second to any second: the rollups serve whole days and hours, the rows only the partial hours at the ends.
            var length = random.NextInt64(3_600, 30 * 86_400);
            var from = Workload.Start.AddSeconds(random.NextInt64((long)span.TotalSeconds - length));
            var to = from.AddSeconds(length);
            return Both(
                async () =>
                {
                    var totals = await store.GetUsageAsync(new ChatCompletionFilter { CreatedFrom = from, CreatedTo = to }, new ChatCompletionUsageGrouping { ByModel = true });
                    return string.Join(';', totals.Select(t => Invariant($"{t.Model}:{t.Completions}:{t.PromptTokens}:{t.TotalTokens}:{t.CachedTokens}:{t.ReasoningTokens}")));
                },
                async () =>
                {
                    await using var command = dataSource.Command(Usage, from, to);
                    await using var reader = await command.ExecuteReaderAsync();
                    var totals = new List<string>();
                    while (await reader.ReadAsync())
                    {
                        totals.Add(Invariant($"{reader.GetString(0)}:{reader.GetInt64(1)}:{reader.GetDecimal(2)}:{reader.GetDecimal(4)}:{reader.GetDecimal(5)}:{reader.GetDecimal(6)}"));
                    }

                    return string.Join(';', totals);
                });
        }),
    ];

    /// <summary>One UTC day of the data set, both ends inclusive as the filter's are.</summary>
    private (ChatCompletionFilter Filter, DateTimeOffset From, DateTimeOffset To) Day(Random random)
    {
        var from = Workload.Start.AddDays(random.Next((int)span.TotalDays));
        var to = from.AddDays(1).AddSeconds(-1);
        return (new ChatCompletionFilter { CreatedFrom = from, CreatedTo = to }, from, to);
    }

    private static Task<Pair> Both(Func<Task<string>> library, Func<Task<string>> hand) => Task.FromResult(new Pair(library, hand));

    /// <summary>
    /// What a hand-written page query looks like: the page of completions in a subquery, so its LIMIT counts completions
    /// rather than joined rows, and their choices joined to it; the same shape as the single query EF sends.
    /// </summary>
    private static string PageSql(string where, string order, int limit) => $"""
        SELECT c.*, {ChoiceColumns}
        FROM (SELECT {CompletionColumns} FROM chat_completions c WHERE c.tenant = '' AND {where} ORDER BY {order} LIMIT {limit}) c
        LEFT JOIN chat_completion_choices h ON h.completion_key = c.completion_key AND h.created = c.created
        ORDER BY {order}, h.index
        """;

    /// <summary>Runs a page query reading every column as a .NET value (what a hand mapper costs at least), and fingerprints the page.</summary>
    private async Task<string> PageAsync(string sql, int pageSize, params object[] values)
    {
        await using var command = dataSource.Command(sql, values);
        await using var reader = await command.ExecuteReaderAsync();
        var (id, index) = (reader.GetOrdinal("id"), reader.GetOrdinal("index"));
        var row = new object[reader.FieldCount];
        var page = new List<(string Id, int Choices)>();
        while (await reader.ReadAsync())
        {
            reader.GetValues(row);
            var choices = row[index] is DBNull ? 0 : 1;
            if (page.Count > 0 && page[^1].Id == (string)row[id])
            {
                page[^1] = (page[^1].Id, page[^1].Choices + choices);
            }
            else
            {
                page.Add(((string)row[id], choices));
            }
        }

        return Fingerprint(page.Take(pageSize), page.Count > pageSize);
    }

    /// <summary>
    /// The planner estimates <c>metadata @&gt; …</c> from ANALYZE's histogram of whole metadata documents, so its plan for a
    /// tenant depends on whether that sample happened to hold the tenant: the plan of every tenant, then one of each kind.
    /// </summary>
    private async Task ExplainMetadataAsync(string sql)
    {
        var byPlan = new Dictionary<string, List<string>>();
        for (var tenant = 0; tenant < Workload.Tenants; tenant++)
        {
            var pair = JsonSerializer.Serialize(new Dictionary<string, string> { ["tenant"] = $"tenant-{tenant}" });
            var plan = Describe(await dataSource.LinesAsync("EXPLAIN " + sql, pair));
            if (!byPlan.TryGetValue(plan, out var tenants))
            {
                byPlan[plan] = tenants = [];
            }

            tenants.Add(pair);
        }

        Console.WriteLine();
        Console.WriteLine($"list by metadata, plans over all {Workload.Tenants} tenants:");
        foreach (var (plan, tenants) in byPlan)
        {
            Console.WriteLine($"    {tenants.Count} tenants: {plan}");
        }

        foreach (var tenants in byPlan.Values)
        {
            await ExplainAsync("list by metadata", sql, tenants[0]);
        }
    }

    private async Task ExplainAsync(string name, string sql, params object[] values)
    {
        var plan = await dataSource.LinesAsync("EXPLAIN (ANALYZE, BUFFERS, FORMAT TEXT) " + sql, values);
        Console.WriteLine();
        Console.WriteLine($"EXPLAIN {name} ({string.Join(", ", values.Select(Display))}):");
        foreach (var line in plan)
        {
            Console.WriteLine("    " + line);
        }

        Console.WriteLine(Describe(plan));
    }

    /// <summary>The indexes a plan reads, in plan order, and any table it reads whole.</summary>
    private static string Describe(List<string> plan)
    {
        var text = string.Join('\n', plan);
        var indexes = IndexScan().Matches(text).Select(m => m.Groups[1].Value).Distinct().ToList();
        var scans = SeqScan().Matches(text).Select(m => m.Groups[1].Value).Distinct().ToList();
        return (indexes.Count == 0 ? "NO INDEX" : "uses index: " + string.Join(", ", indexes)) +
            (scans.Count == 0 ? "" : "; Seq Scan on " + string.Join(", ", scans));
    }

    private static string Fingerprint(ChatCompletionPage page) => Fingerprint(page.Items.Select(c => (c.Id, c.Choices.Count)), page.HasMore);

    private static string Fingerprint(IEnumerable<(string Id, int Choices)> items, bool hasMore) =>
        Invariant($"{string.Join(';', items.Select(i => Invariant($"{i.Id}:{i.Choices}")))}{(hasMore ? "+" : "")}");

    private static async Task<Timed> TimeAsync(Func<Task<string>> query)
    {
        var started = Stopwatch.GetTimestamp();
        var result = await query();
        return new Timed(result, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
    }

    /// <summary>Nearest-rank percentile.</summary>
    private static double Percentile(List<double> values, double p)
    {
        var sorted = values.Order().ToList();
        return sorted[Math.Max(0, (int)Math.Ceiling(p * sorted.Count) - 1)];
    }

    private static string Display(object value) =>
        value is DateTimeOffset instant ? instant.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) : Invariant($"{value}");

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    [GeneratedRegex(@"(?:Index(?: Only)? Scan(?: Backward)? using|Bitmap Index Scan on) (\w+)")]
    private static partial Regex IndexScan();

    [GeneratedRegex(@"Seq Scan on (\w+)")]
    private static partial Regex SeqScan();
}

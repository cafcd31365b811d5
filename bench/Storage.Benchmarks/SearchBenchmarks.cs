using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Npgsql;
using Storage.Internal;

namespace Storage.Benchmarks;

/// <summary>
/// Search (<c>--search-only [--rows N]</c>): the ingest ratio, bulk path against raw COPY, with the trigram indexes off
/// and on; then N completions with prose-like text in the answer and the request loaded through the bulk path, and the
/// first page of a search for a common and a rare term timed (median, p95), library against the hand-written statement,
/// with the indexes on and, for the rare term, off (a scan).
/// </summary>
internal static class SearchBenchmarks
{
    internal const string Common = "invoice";
    internal const string Rare = "xylophonist";

    // Two words of the query data set's vocabulary side by side: about a third of its completions hold them.
    private const string QueryCommon = "vacuum lz4";

    /// <param name="reuse">
    /// Measure on the data set already in the database (the query benchmark's, kept with <c>--keep</c>): no ingest
    /// comparison, no load and no trigram indexes; the rare term is added in a few completions of its own, and the
    /// common term is <see cref="QueryCommon"/>, which about a third of the query data set holds.
    /// </param>
    public static async Task RunAsync(NpgsqlDataSource dataSource, int rows, bool quick, bool reuse)
    {
        await using var store = new ChatCompletionStore(dataSource);
        await store.SetSearchIndexAsync(false);
        if (reuse)
        {
            await foreach (var _ in store.SaveManyAsync(Searchable(Workload.Generate(300, seed: 7, TimeSpan.FromDays(600), prose: true))))
            {
            }
        }
        else
        {
            await IngestAsync(dataSource, store, quick);
            await using (var truncate = dataSource.Command($"TRUNCATE {ChatCompletionConfiguration.TableName}, {ChatChoiceConfiguration.TableName}"))
            {
                await truncate.ExecuteNonQueryAsync();
            }

            // Loaded with the indexes off, then indexed: building a GIN index at once is far faster than adding to it row by row.
            var loading = Stopwatch.StartNew();
            await foreach (var _ in store.SaveManyAsync(Searchable(Workload.Generate(rows, seed: 6, TimeSpan.FromDays(60), prose: true))))
            {
            }

            Console.WriteLine(Invariant($"search: {rows:N0} completions loaded in {loading.Elapsed.TotalSeconds:0.0} s with the search indexes off"));
        }

        // A reused data set was vacuumed and analyzed after its load; a few hundred rows more change nothing.
        if (!reuse)
        {
            await dataSource.ExecuteAsync($"VACUUM ANALYZE {ChatCompletionConfiguration.TableName}");
            await dataSource.ExecuteAsync($"VACUUM ANALYZE {ChatChoiceConfiguration.TableName}");
        }

        // On a reused data set the indexes stay off: building them is hours for 10,000,000 completions on the 2-core
        // development machine (about 7 minutes per month's partition for the content index alone).
        if (!reuse)
        {
            var indexing = Stopwatch.StartNew();
            await using (var build = dataSource.Command("SET maintenance_work_mem = '1GB'; SELECT storage_search_index(true)"))
            {
                await build.ExecuteNonQueryAsync();
            }

            var bytes = await dataSource.ScalarAsync<long>(
                "SELECT coalesce(sum(pg_relation_size(c.oid)), 0)::bigint FROM pg_class AS c JOIN pg_inherits AS i ON i.inhrelid = c.oid JOIN pg_class AS p ON p.oid = i.inhparent WHERE p.relname LIKE 'ix\\_%\\_search\\_%'");
            Console.WriteLine(Invariant($"search: storage_search_index(true) built the trigram indexes in {indexing.Elapsed.TotalSeconds:0.0} s, {bytes / 1048576.0:0.0} MB"));
        }

        var total = await dataSource.ScalarAsync<long>($"SELECT count(*) FROM {ChatCompletionConfiguration.TableName}");
        Console.WriteLine();
        Console.WriteLine(Invariant($"search: {total:N0} completions; first page (20) newest first; the SQL is the one statement (semi-join on the matches, newest 21)"));
        Console.WriteLine($"{"query",-34} {"matches",10} {"lib median",10} {"lib p95",9} {"SQL median",10} {"SQL p95",9}");
        var iterations = quick ? 20 : 50;
        var cases = reuse
            ? new List<(string Term, bool Indexed)> { (QueryCommon, false), (Rare, false) }
            // The scan last: turning the indexes on again would build them again.
            : [(Common, true), (Rare, true), ("Здравствуй", true), ("天气很好", true), (Rare, false)];
        foreach (var (term, indexed) in cases)
        {
            await store.SetSearchIndexAsync(indexed);
            var filter = new ChatCompletionFilter { Search = term };
            // Counting without the index scans every row: not on a reused (large) data set.
            var matches = reuse ? "-" : (await store.CountAsync(filter)).ToString("N0", CultureInfo.InvariantCulture);
            var library = new List<double>();
            var hand = new List<double>();
            // A statement that takes seconds (the one statement collects every match of a common term; without the index,
            // a rare term is a scan) is timed once.
            for (var i = 0; i < iterations && (i == 0 || library[0] < 2_000); i++)
            {
                var started = Stopwatch.GetTimestamp();
                await store.ListAsync(filter);
                library.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                if (i > 0 && hand[0] > 2_000)
                {
                    continue;
                }

                started = Stopwatch.GetTimestamp();
                await using var command = dataSource.Command(
                    $"SELECT c.id FROM {ChatCompletionConfiguration.TableName} AS c WHERE c.tenant = @tenant AND {UsageSql.Search("@search")} ORDER BY c.created DESC, c.completion_key DESC LIMIT 21");
                command.Parameters.AddWithValue("tenant", "");
                command.Parameters.AddWithValue("search", FilterValues.LikePattern(term));
                await using (var reader = await command.ExecuteReaderAsync())
                {
                    while (await reader.ReadAsync())
                    {
                    }
                }

                hand.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            }

            Console.WriteLine($"{$"'{term}', index {(indexed ? "on" : "off")}",-34} {matches,10} {Percentile(library, 0.5),10:0.00} {Percentile(library, 0.95),9:0.00} {Percentile(hand, 0.5),10:0.00} {Percentile(hand, 0.95),9:0.00}" +
                (hand.Count < library.Count ? $" (SQL timed {hand.Count}x)" : ""));
        }
    }

    /// <summary>The ingest ratio, bulk path against raw COPY, with the trigram indexes off and on.</summary>
    private static async Task IngestAsync(NpgsqlDataSource dataSource, ChatCompletionStore store, bool quick)
    {
        var benchmarks = new IngestBenchmarks(dataSource);
        var ingestCount = quick ? 5_000 : 20_000;
        var data = Searchable(Workload.Generate(ingestCount, seed: 5, TimeSpan.FromSeconds(ingestCount / 10), prose: true)).ToList();
        Console.WriteLine($"search: ingest of {ingestCount:N0} completions with prose-like answers and requests, 3 runs each, medians");
        Console.WriteLine($"{"search index",-14} {"COPY/s",10} {"bulk/s",10} {"bulk/COPY",10}");
        var bulkOff = 0.0;
        foreach (var enabled in new[] { false, true })
        {
            await store.SetSearchIndexAsync(enabled);
            await benchmarks.TimeAsync(benchmarks.StoreBulk, data);
            var copy = new List<double>();
            var bulk = new List<double>();
            for (var run = 0; run < 3; run++)
            {
                copy.Add(data.Count / (await benchmarks.TimeAsync(benchmarks.RawCopy, data)).TotalSeconds);
                bulk.Add(data.Count / (await benchmarks.TimeAsync(benchmarks.StoreBulk, data)).TotalSeconds);
            }

            var (c, b) = (Percentile(copy, 0.5), Percentile(bulk, 0.5));
            bulkOff = enabled ? bulkOff : b;
            Console.WriteLine($"{(enabled ? "on" : "off"),-14} {c,10:N0} {b,10:N0} {b / c,10:0.00}");
            if (enabled)
            {
                Console.WriteLine(Invariant($"search_index_bulk_vs_copy: {b / c:0.00}; bulk with the index / without: {b / bulkOff:0.00}"));
            }
        }

        await store.SetSearchIndexAsync(false);
    }

    /// <summary>The workload with a request beside each answer, a common term in about a third, a rare one in one of 10,000, and text in two other scripts in a few.</summary>
    internal static IEnumerable<ChatCompletion> Searchable(IEnumerable<ChatCompletion> completions)
    {
        var i = 0;
        foreach (var completion in completions)
        {
            var message = completion.Choices[0].Message;
            var text = message.Content!.Text!;
            var insert = i % 3 == 0 ? $" {Common}s " : i % 10_000 == 7 ? $" the {Rare} " : i % 50 == 1 ? " Здравствуйте " : i % 50 == 2 ? " 今天天气很好 " : " ";
            message.Content = text[..(text.Length / 2)] + insert + text[(text.Length / 2)..];
            completion.Call = new ChatCompletionCall
            {
                StartedAt = completion.Created,
                Latency = TimeSpan.FromMilliseconds(200 + (i % 3000)),
                Request = JsonSerializer.SerializeToElement(new
                {
                    model = completion.Model,
                    messages = new object[] { new { role = "system", content = "You answer billing questions." }, new { role = "user", content = text[..Math.Min(300, text.Length)] } },
                }),
            };
            i++;
            yield return completion;
        }
    }

    private static double Percentile(List<double> values, double p)
    {
        var sorted = values.Order().ToList();
        return sorted[Math.Max(0, (int)Math.Ceiling(p * sorted.Count) - 1)];
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}

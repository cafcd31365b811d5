using System.Diagnostics;
using System.Text;
using Npgsql;

namespace Storage.Benchmarks;

/// <summary>Bytes on disk per stored completion, next to the size of its wire JSON, and what TOAST compression changes.</summary>
internal static class Footprint
{
    private static readonly string[] Tables = ["chat_completions", "chat_completion_choices"];

    // Summed over the table's partitions (a partitioned parent has no storage of its own). heap includes the free space
    // and visibility maps, TOAST its own index, so heap + TOAST + indexes = total.
    private const string Sizes = """
        SELECT sum(pg_table_size(c.oid) - coalesce(pg_total_relation_size(nullif(c.reltoastrelid, 0)), 0))::bigint,
            sum(coalesce(pg_total_relation_size(nullif(c.reltoastrelid, 0)), 0))::bigint, sum(pg_indexes_size(c.oid))::bigint,
            sum(pg_total_relation_size(c.oid))::bigint
        FROM pg_partition_tree($1::regclass) AS p JOIN pg_class AS c ON c.oid = p.relid WHERE p.isleaf
        """;

    // pg_column_compression is null for a value stored uncompressed, inline or not.
    private const string Census = """
        SELECT method || ' ' || n || ' (mean ' || bytes || ' B stored)' FROM (
            SELECT coalesce(pg_column_compression(message_content), 'uncompressed') AS method, count(*) AS n,
                round(avg(pg_column_size(message_content))) AS bytes
            FROM chat_completion_choices GROUP BY 1) s
        ORDER BY 1
        """;

    /// <summary>The tables as they are now (after VACUUM ANALYZE), per completion, and the JSON of a sample of the same generator.</summary>
    public static async Task ReportAsync(NpgsqlDataSource dataSource, Func<int, IEnumerable<ChatCompletion>> generate)
    {
        var completions = await dataSource.ScalarAsync<long>("SELECT count(*) FROM chat_completions");
        var choices = await dataSource.ScalarAsync<long>("SELECT count(*) FROM chat_completion_choices");
        Console.WriteLine($"bytes on disk per completion ({completions:N0} completions, {choices:N0} choices), after VACUUM ANALYZE:");
        Console.WriteLine($"{"table",-26} {"heap",8} {"TOAST",8} {"indexes",8} {"total",8}");
        var sum = new long[4];
        foreach (var table in Tables)
        {
            var sizes = await SizesAsync(dataSource, table);
            Console.WriteLine($"{table,-26} {sizes[0] / completions,8:N0} {sizes[1] / completions,8:N0} {sizes[2] / completions,8:N0} {sizes[3] / completions,8:N0}");
            for (var i = 0; i < sum.Length; i++)
            {
                sum[i] += sizes[i];
            }
        }

        Console.WriteLine($"{"both",-26} {sum[0] / completions,8:N0} {sum[1] / completions,8:N0} {sum[2] / completions,8:N0} {sum[3] / completions,8:N0}");
        var indexes = await dataSource.LinesAsync("""
            SELECT i.indexrelid::regclass || ' ' || (SELECT sum(pg_relation_size(t.relid)) FROM pg_partition_tree(i.indexrelid) AS t WHERE t.isleaf)::bigint / $1
            FROM pg_index i WHERE i.indrelid IN ('chat_completions'::regclass, 'chat_completion_choices'::regclass) ORDER BY 1
            """, completions);
        Console.WriteLine($"indexes, bytes per completion: {string.Join(", ", indexes)}");

        var sample = (int)Math.Min(completions, 10_000);
        var json = generate(sample).Sum(c => (long)Encoding.UTF8.GetByteCount(ChatCompletionJson.Serialize(c))) / sample;
        Console.WriteLine($"wire JSON (ChatCompletionJson.Serialize, UTF-8), mean of {sample:N0} generated: {json:N0} B; on disk / JSON: {(double)sum[3] / completions / json:0.00}x (heap + TOAST alone {(double)(sum[0] + sum[1]) / completions / json:0.00}x)");
        Console.WriteLine($"default_toast_compression: {(await dataSource.LinesAsync("SHOW default_toast_compression"))[0]}; message_content values: {string.Join(", ", await dataSource.LinesAsync(Census))}");
    }

    /// <summary>
    /// The same sample loaded through the bulk path with message_content at pglz (PostgreSQL's default), then at lz4 (what
    /// the migrations set). Setting a column's compression only affects values written afterwards, so each run empties
    /// the tables and loads the sample again. PostgreSQL compresses a value only when its row exceeds ~2 KB
    /// (TOAST_TUPLE_THRESHOLD); the long-content sample shows what the method does once it does. Both bulk routes honour
    /// the column: the straight COPY writes into the table, and the staging tables copy its compression.
    /// </summary>
    public static async Task CompressionAsync(NpgsqlDataSource dataSource, (int Count, int ContentLength)[] samples)
    {
        string[] runs = ["pglz", "lz4"];
        Console.WriteLine("message_content compression, each sample loaded fresh through SaveManyAsync (bytes per completion):");
        Console.WriteLine($"{"sample",-28} {"compression",-18} {"load/s",7} {"JSON",7} {"choices heap",12} {"TOAST",6} {"total",6}  message_content values");
        foreach (var (count, contentLength) in samples)
        {
            IEnumerable<ChatCompletion> Sample() => Workload.Generate(count, seed: 3, TimeSpan.FromDays(60), contentLength, prose: true);
            var json = Sample().Sum(c => (long)Encoding.UTF8.GetByteCount(ChatCompletionJson.Serialize(c))) / count;
            foreach (var column in runs)
            {
                await dataSource.ExecuteAsync("TRUNCATE chat_completions, chat_completion_choices");
                await SetCompressionAsync(dataSource, column);
                await using var store = new ChatCompletionStore(dataSource);
                var started = Stopwatch.GetTimestamp();
                await foreach (var result in store.SaveManyAsync(Sample()))
                {
                    _ = result.Outcome == SaveOutcome.Stored ? 0 : throw new InvalidOperationException($"Item {result.Position} was not stored: {result.Error?.Message}");
                }

                var rate = count / Stopwatch.GetElapsedTime(started).TotalSeconds;
                await dataSource.ExecuteAsync("VACUUM ANALYZE chat_completions, chat_completion_choices");
                var (parents, children) = (await SizesAsync(dataSource, Tables[0]), await SizesAsync(dataSource, Tables[1]));
                var census = string.Join(", ", await dataSource.LinesAsync(Census));
                Console.WriteLine(
                    $"{$"{count:N0} x {contentLength:N0} chars prose",-28} {column,-18} {rate,7:N0} {json,7:N0} {children[0] / count,12:N0} " +
                    $"{children[1] / count,6:N0} {(parents[3] + children[3]) / count,6:N0}  {census}");
            }
        }

        await SetCompressionAsync(dataSource, "lz4");
    }

    // On the parent and every partition: in PostgreSQL 15, SET COMPRESSION on a partitioned table does not reach the
    // partitions that already exist (new ones copy the parent's).
    private static Task SetCompressionAsync(NpgsqlDataSource dataSource, string method) => dataSource.ExecuteAsync($"""
        DO $set$
        DECLARE
            part regclass;
        BEGIN
            FOR part IN SELECT relid FROM pg_partition_tree('chat_completion_choices') LOOP
                EXECUTE format('ALTER TABLE %s ALTER COLUMN message_content SET COMPRESSION {method}', part);
            END LOOP;
        END
        $set$
        """);

    private static async Task<long[]> SizesAsync(NpgsqlDataSource dataSource, string table)
    {
        await using var command = dataSource.Command(Sizes, table);
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        return [reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3)];
    }
}

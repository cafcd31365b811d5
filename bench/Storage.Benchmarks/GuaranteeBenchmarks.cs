using System.Globalization;
using Npgsql;

namespace Storage.Benchmarks;

/// <summary>
/// What the guarantees cost, each beside its baseline in the same run, runs interleaved: concurrent single saves of one
/// model and day with the usage rollup's triggers and without them; and the bulk path as the README's least-privilege
/// application role, with row-level security off (single-tenant) and on (multi-tenant), against raw COPY as the owner.
/// </summary>
internal sealed class GuaranteeBenchmarks(NpgsqlDataSource owner, IngestBenchmarks ingest)
{
    private const int Writers = 32;

    public async Task RunAsync(int saves, int bulkCount, int runs)
    {
        await using (var fsync = owner.CreateCommand("SHOW fsync"))
        {
            Console.WriteLine($"fsync: {await fsync.ExecuteScalarAsync()}");
        }

        await ConcurrentSavesAsync(saves, runs);
        await LeastPrivilegeBulkAsync(bulkCount, runs);
    }

    private async Task ConcurrentSavesAsync(int saves, int runs)
    {
        // One model, one day: every save's rollup increment lands on the same (tenant, day, model).
        var data = Workload.Create(saves, seed: 7);
        foreach (var completion in data)
        {
            completion.Model = Workload.Models[0];
            completion.Created = Workload.Start;
        }

        var rates = new Dictionary<bool, List<double>> { [true] = [], [false] = [] };
        for (var run = -1; run < runs; run++)
        {
            foreach (var rollup in new[] { true, false })
            {
                await ExecuteAsync(owner, $"ALTER TABLE chat_completions {(rollup ? "ENABLE" : "DISABLE")} TRIGGER storage_usage_daily_insert");
                var elapsed = await ingest.TimeAsync(SaveConcurrently, data);
                if (run >= 0)
                {
                    rates[rollup].Add(data.Count / elapsed.TotalSeconds);
                }
            }
        }

        await ExecuteAsync(owner, "ALTER TABLE chat_completions ENABLE TRIGGER storage_usage_daily_insert");
        var (with, without) = (Median(rates[true]), Median(rates[false]));
        Console.WriteLine($"{Writers} tasks calling SaveAsync, one model and day, {data.Count:N0} saves, median of {runs}: with rollup {with:N0}/s, without {without:N0}/s");
        Console.WriteLine($"concurrent_saves_rollup_ratio: {(with / without).ToString("0.00", CultureInfo.InvariantCulture)}");
    }

    private async Task SaveConcurrently(IReadOnlyList<ChatCompletion> completions)
    {
        await using var store = new ChatCompletionStore(owner);
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, Writers).Select(_ => Task.Run(async () =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < completions.Count)
            {
                await store.SaveAsync(completions[i]);
            }
        })));
    }

    private async Task LeastPrivilegeBulkAsync(int count, int runs)
    {
        var role = $"storage_bench_app_{Environment.ProcessId}";
        var password = Guid.NewGuid().ToString("N");
        await ExecuteAsync(owner, $"CREATE ROLE {role} LOGIN PASSWORD '{password}'", $"GRANT USAGE ON SCHEMA public TO {role}",
            $"GRANT SELECT, INSERT, UPDATE, DELETE ON chat_completions, chat_completion_choices TO {role}", $"GRANT SELECT ON chat_completion_usage_daily TO {role}");
        try
        {
            await using var app = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(owner.ConnectionString) { Username = role, Password = password }.ConnectionString);
            var data = Workload.Create(count, seed: 8);
            var cases = new (string Name, IngestBenchmarks.Method Method, bool RowLevelSecurity)[]
            {
                ("raw binary COPY as the owner", ingest.RawCopy, false),
                ("bulk path as the owner", ingest.StoreBulk, false),
                ("bulk path as the app role, tenancy off", Bulk(app, null), false),
                ("bulk path as the app role, tenancy on", Bulk(app, "bench-tenant"), true),
            };
            var rates = cases.ToDictionary(c => c.Name, _ => new List<double>());
            for (var run = -1; run < runs; run++)
            {
                foreach (var (caseName, method, rowLevelSecurity) in cases)
                {
                    await ExecuteAsync(owner, $"SELECT storage_set_row_level_security({(rowLevelSecurity ? "true" : "false")})");
                    var elapsed = await ingest.TimeAsync(method, data);
                    if (run >= 0)
                    {
                        rates[caseName].Add(data.Count / elapsed.TotalSeconds);
                    }
                }
            }

            await ExecuteAsync(owner, "SELECT storage_set_row_level_security(false)");
            var copy = Median(rates[cases[0].Name]);
            foreach (var (caseName, _, _) in cases)
            {
                Console.WriteLine($"{caseName,-48} {Median(rates[caseName]),14:N0} {Median(rates[caseName]) / copy,8:0.00}");
            }

            Console.WriteLine($"least_privilege_bulk_vs_copy: {(Median(rates[cases[2].Name]) / copy).ToString("0.00", CultureInfo.InvariantCulture)} " +
                $"(tenancy on: {(Median(rates[cases[3].Name]) / copy).ToString("0.00", CultureInfo.InvariantCulture)})");
        }
        finally
        {
            NpgsqlConnection.ClearAllPools();
            await ExecuteAsync(owner, $"DROP OWNED BY {role}", $"DROP ROLE {role}");
        }
    }

    private static IngestBenchmarks.Method Bulk(NpgsqlDataSource dataSource, string? tenant) => async completions =>
    {
        await using var store = new ChatCompletionStore(dataSource);
        var scoped = tenant is null ? store : store.ForTenant(tenant);
        await foreach (var result in scoped.SaveManyAsync(completions))
        {
            if (result.Outcome != SaveOutcome.Stored)
            {
                throw new InvalidOperationException($"Item {result.Position} was not stored: {result.Error?.Message}");
            }
        }
    };

    private static async Task ExecuteAsync(NpgsqlDataSource dataSource, params string[] statements)
    {
        foreach (var sql in statements)
        {
            await using var command = dataSource.CreateCommand(sql);
            await command.ExecuteNonQueryAsync();
        }
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
    }
}

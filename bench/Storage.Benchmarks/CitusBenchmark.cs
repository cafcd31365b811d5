using System.Diagnostics;
using Npgsql;
using Storage.Migrations;

namespace Storage.Benchmarks;

/// <summary>
/// The same ingest and queries on the single-node database of this run and on a Citus coordinator (a schema of its own,
/// migrated and distributed, dropped afterwards): what each operation costs when the tables are sharded. On one small
/// machine the workers share its cores with the coordinator and the client, so this shows cost, not speed-up.
/// </summary>
internal static class CitusBenchmark
{
    private const int ShardCount = 8;
    private const int Iterations = 30;
    private const int TenantCount = 5_000;
    private const string Tenant = "bench-tenant";

    public static async Task RunAsync(NpgsqlDataSource single, string coordinator, int count)
    {
        var schema = $"storage_bench_{Environment.ProcessId}";
        await using var admin = NpgsqlDataSource.Create(coordinator);
        await admin.ExecuteAsync($"CREATE SCHEMA {schema}");
        try
        {
            await using var citus = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(coordinator) { SearchPath = schema, MaxAutoPrepare = 64 }.ConnectionString);
            await StorageMigrator.MigrateAsync(citus);
            await StorageMigrator.DistributeOnCitusAsync(citus, ShardCount);
            Console.WriteLine($"citus: {await citus.ScalarAsync<string>("SELECT citus_version()")}; {await citus.ScalarAsync<long>("SELECT count(*) FROM pg_dist_node WHERE shouldhaveshards")} workers, {ShardCount} shards per table");
            Console.WriteLine($"machine: {Environment.ProcessorCount} cores, shared; {count:N0} completions per ingest, one run each; query latencies: median of {Iterations}");
            // With a recorded request beside each answer, and search terms in the text (SearchBenchmarks.Searchable).
            var completions = SearchBenchmarks.Searchable(Workload.Create(count, seed: 18)).ToList();
            var tenantCompletions = SearchBenchmarks.Searchable(Workload.Create(TenantCount, seed: 19)).ToList();
            var results = new List<(string Name, string Single, string Citus)>();
            foreach (var (name, method) in new (string, Func<IngestBenchmarks, IngestBenchmarks.Method>)[]
                { ("ingest: raw binary COPY (completions/s)", b => b.RawCopy), ("ingest: store bulk path, SaveManyAsync (completions/s)", b => b.StoreBulk) })
            {
                var a = await new IngestBenchmarks(single).TimeAsync(method(new IngestBenchmarks(single)), completions);
                var b = await new IngestBenchmarks(citus).TimeAsync(method(new IngestBenchmarks(citus)), completions);
                results.Add((name, $"{count / a.TotalSeconds:N0}", $"{count / b.TotalSeconds:N0}"));
            }

            // The bulk path's rows stay for the queries, and a tenant's beside them: a store scoped to a tenant states its
            // claim in every transaction on Citus (two more round trips per command).
            await using var singleStore = new ChatCompletionStore(single);
            await using var citusStore = new ChatCompletionStore(citus);
            var tenantRates = new List<string>();
            foreach (var store in new[] { singleStore, citusStore })
            {
                var saving = Stopwatch.StartNew();
                await foreach (var _ in store.ForTenant(Tenant).SaveManyAsync(tenantCompletions))
                {
                }

                tenantRates.Add($"{TenantCount / saving.Elapsed.TotalSeconds:N0}");
            }

            results.Add(($"ingest: bulk path of a tenant, ForTenant, {TenantCount:N0} (completions/s)", tenantRates[0], tenantRates[1]));
            var id = completions[count / 2].Id;
            var tenantId = tenantCompletions[TenantCount / 2].Id;
            var day = new ChatCompletionFilter { CreatedFrom = Workload.Start.AddHours(1.5), CreatedTo = Workload.Start.AddHours(1.5).AddDays(1) };
            var queries = new (string Name, Func<ChatCompletionStore, Task> Run)[]
            {
                ("get by id (ms)", store => store.GetAsync(id)),
                ("list, first page of 20 (ms)", store => store.ListAsync(limit: 20)),
                ("list, page of 20 after a cursor (ms)", store => store.ListAsync(after: id, limit: 20)),
                ("usage, whole range (ms)", store => store.GetUsageAsync()),
                ("usage, by model and day over a range (ms)", store => store.GetUsageAsync(day, new ChatCompletionUsageGrouping { ByModel = true, ByDay = true })),
                ("count (ms)", store => store.CountAsync()),
                ("list by model, first page of 20 (ms)", store => store.ListAsync(new ChatCompletionFilter { Model = Workload.Models[2] }, limit: 20)),
                ($"search, first page: '{SearchBenchmarks.Common}', a third of the rows (ms)", store => store.ListAsync(new ChatCompletionFilter { Search = SearchBenchmarks.Common }, limit: 20)),
                ($"search, first page: '{SearchBenchmarks.Rare}', {count / 10_000} rows, no index (ms)", store => store.ListAsync(new ChatCompletionFilter { Search = SearchBenchmarks.Rare }, limit: 20)),
                ("export of the first 1,000 (ms)", async store => await store.ExportAsync(new ChatCompletionFilter { CreatedTo = completions[999].Created }).CountAsync()),
                ("tenant: get by id (ms)", store => store.ForTenant(Tenant).GetAsync(tenantId)),
                ("tenant: list, first page of 20 (ms)", store => store.ForTenant(Tenant).ListAsync(limit: 20)),
                ("tenant: usage, whole range (ms)", store => store.ForTenant(Tenant).GetUsageAsync()),
            };
            foreach (var (name, run) in queries)
            {
                results.Add((name, $"{await MedianAsync(singleStore, run):F2}", $"{await MedianAsync(citusStore, run):F2}"));
            }

            results.AddRange(await UnderRowLevelSecurityAsync(single, citus, schema, tenantId));

            var started = Stopwatch.GetTimestamp();
            var folded = await citus.ScalarAsync<long>("SELECT storage_compact_usage()");
            results.Add(($"usage fold, storage_compact_usage() ({folded:N0} delta rows) (ms)", "", $"{Stopwatch.GetElapsedTime(started).TotalMilliseconds:F0}"));
            results.Add(("usage, whole range after the fold (ms)", "", $"{await MedianAsync(citusStore, store => store.GetUsageAsync()):F2}"));

            Console.WriteLine();
            Console.WriteLine($"{"operation",-62} {"single node",12} {"Citus 1+2",12}");
            foreach (var (name, a, b) in results)
            {
                Console.WriteLine($"{name,-62} {a,12} {b,12}");
            }
        }
        finally
        {
            await admin.ExecuteAsync($"DROP SCHEMA IF EXISTS {schema} CASCADE");
        }
    }

    /// <summary>
    /// The tenant's reads as the README's least-privilege role, bound by row-level security, on both: created, granted
    /// the rows and dropped here, with row-level security on only meanwhile.
    /// </summary>
    private static async Task<List<(string Name, string Single, string Citus)>> UnderRowLevelSecurityAsync(
        NpgsqlDataSource single, NpgsqlDataSource citus, string schema, string tenantId)
    {
        var role = $"storage_bench_app_{Environment.ProcessId}";
        var password = Guid.NewGuid().ToString("N");
        var owners = new[] { (DataSource: single, Schema: "public"), (DataSource: citus, Schema: schema) };
        var results = new List<(string, string, string)>();
        try
        {
            var stores = new List<ChatCompletionStore>();
            foreach (var (owner, name) in owners)
            {
                await owner.ExecuteAsync($"CREATE ROLE {role} LOGIN PASSWORD '{password}'");
                await owner.ExecuteAsync($"GRANT USAGE ON SCHEMA {name} TO {role}");
                await owner.ExecuteAsync($"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {name} TO {role}");
                await owner.ExecuteAsync("SELECT storage_set_row_level_security(true)");
                stores.Add(new ChatCompletionStore(new NpgsqlConnectionStringBuilder(owner.ConnectionString) { Username = role, Password = password }.ConnectionString));
            }

            var queries = new (string Name, Func<ChatCompletionStore, Task> Run)[]
            {
                ("tenant, row-level security: get by id (ms)", store => store.ForTenant(Tenant).GetAsync(tenantId)),
                ("tenant, row-level security: list, first page of 20 (ms)", store => store.ForTenant(Tenant).ListAsync(limit: 20)),
                ("tenant, row-level security: count (ms)", store => store.ForTenant(Tenant).CountAsync()),
                ("tenant, row-level security: usage, whole range (ms)", store => store.ForTenant(Tenant).GetUsageAsync()),
            };
            foreach (var (name, run) in queries)
            {
                results.Add((name, $"{await MedianAsync(stores[0], run):F2}", $"{await MedianAsync(stores[1], run):F2}"));
            }

            foreach (var store in stores)
            {
                await store.DisposeAsync();
            }
        }
        finally
        {
            NpgsqlConnection.ClearAllPools();
            foreach (var (owner, _) in owners)
            {
                await owner.ExecuteAsync("SELECT storage_set_row_level_security(false)");
                await owner.ExecuteAsync($"DROP OWNED BY {role}");
                await owner.ExecuteAsync($"DROP ROLE {role}");
            }
        }

        return results;
    }

    private static async Task<double> MedianAsync(ChatCompletionStore store, Func<ChatCompletionStore, Task> run)
    {
        await run(store);
        var times = new List<double>();
        for (var i = 0; i < Iterations; i++)
        {
            var started = Stopwatch.GetTimestamp();
            await run(store);
            times.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }

        times.Sort();
        return times[times.Count / 2];
    }
}

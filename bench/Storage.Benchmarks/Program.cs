using System.Globalization;
using Microsoft.Extensions.Configuration;
using Npgsql;
using Storage;
using Storage.Benchmarks;
using Storage.Connection;
using Storage.Migrations;

// Benchmark, one server, one run: the same generated completions ingested five ways; then a large data set loaded
// through the bulk path, its read latencies (library vs hand-written SQL), plans, and bytes on disk.
// Usage: dotnet run -c Release --project bench/Storage.Benchmarks -- [--quick] [--rows N] [--months N] [--reuse NAME] [--keep] [--connection "Host=…"]
// --ingest-only stops after the five ingest methods and the guarantees' costs (concurrent saves with and without the
// usage rollup, the bulk path as the least-privilege role); --queries-only skips them and starts at the large data set
// (its last line is then the bulk load's rate, not bulk_vs_copy); --prune-only runs only the retention comparison (--prune-rows N
// per month; 20,000 in quick mode, 100,000 otherwise); -- --hash measures the per-item client cost of the bulk path alone
// (no database); --search-only [--rows N] runs only search (SearchBenchmarks; with --reuse NAME, on that data set).
if (args.Contains("--hash"))
{
    HashBenchmark.Run();
    return;
}

var quick = args.Contains("--quick");
// The same server as the storage command finds: --connection, else ConnectionStrings__Storage, else the docker-compose
// server if it answers, else the development cluster (started from the installed PostgreSQL if it is down).
var connectionString = Option("--connection") is { } given
    ? await ConnectionResolver.CheckAsync(given, "--connection")
    : await ConnectionResolver.ResolveAsync(new ConfigurationBuilder().AddEnvironmentVariables().Build(), Console.Error);
var (count, slowCount, runs) = quick ? (10_000, 1_000, 5) : (50_000, 5_000, 5);
var rows = Option("--rows") is { } rowsText ? int.Parse(rowsText, CultureInfo.InvariantCulture) : quick ? 20_000 : 1_000_000;
var iterations = quick ? 50 : 200;
// The query data set spans 61 months (one partition per month, as a deployment keeps five years), two in quick mode.
var months = Option("--months") is { } monthsText ? int.Parse(monthsText, CultureInfo.InvariantCulture) : quick ? 2 : 61;
var span = Workload.Start.AddMonths(months) - Workload.Start;
var pruneRows = Option("--prune-rows") is { } pruneText ? int.Parse(pruneText, CultureInfo.InvariantCulture) : quick ? 20_000 : 100_000;
// The compression samples: the workload's ~1 KB content, and long answers whose rows do reach TOAST.
(int Count, int ContentLength)[] samples = quick ? [(5_000, 1000), (1_000, 8000)] : [(50_000, 1000), (10_000, 8000)];

// Everything happens in a database of its own, since every case starts by emptying the tables.
var admin = new NpgsqlConnectionStringBuilder(connectionString) { Database = "postgres" };
// --reuse NAME measures on the database of an earlier run that was stopped after its load (a 10M load takes most of an
// hour): no ingest, no load (with --resume, the rest of an interrupted load first); it is dropped at the end like any
// other, unless --keep is given (to measure the same data set again, e.g. after a change to the library; --load-only
// --keep loads it and stops; with --keep the compression samples and the prune, which empty the tables, are skipped).
var reuse = Option("--reuse");
var keep = args.Contains("--keep");
var name = reuse ?? $"storage_bench_{Environment.ProcessId}";
Console.WriteLine($"database: {name}{(keep ? " (kept at the end: --reuse " + name + ")" : "")}");
if (reuse is null)
{
    await using var server = NpgsqlDataSource.Create(admin.ConnectionString);
    await using var create = server.CreateCommand($"CREATE DATABASE {name}");
    await create.ExecuteNonQueryAsync();
}

try
{
    // Statements prepared, for the library and the hand-written SQL alike, as a store built from a connection string
    // does: over 60 partitions, planning each query anew costs more than running it.
    var target = new NpgsqlConnectionStringBuilder(connectionString) { Database = name, MaxAutoPrepare = 64 };
    await using var dataSource = NpgsqlDataSource.Create(target.ConnectionString);
    await StorageMigrator.MigrateAsync(dataSource);
    await using (var version = dataSource.CreateCommand("SELECT version()"))
    {
        Console.WriteLine($"server: {await version.ExecuteScalarAsync()}");
    }

    if (args.Contains("--search-only"))
    {
        await SearchBenchmarks.RunAsync(dataSource, rows, quick, reuse is not null);
        return;
    }

    // --citus "Host=…": the ingest and queries here and on that Citus coordinator, side by side (CitusBenchmark).
    if (Option("--citus") is { } citusCoordinator)
    {
        await CitusBenchmark.RunAsync(dataSource, citusCoordinator, count);
        return;
    }

    if (args.Contains("--prune-only"))
    {
        await using var pruneStore = new ChatCompletionStore(dataSource);
        await PruneBenchmark.RunAsync(dataSource, pruneStore, pruneRows);
        return;
    }

    var bulkVsCopy = args.Contains("--queries-only") || reuse is not null ? null : await IngestAsync(dataSource);
    if (args.Contains("--ingest-only"))
    {
        Console.WriteLine(bulkVsCopy);
        return;
    }

    await using (var store = new ChatCompletionStore(dataSource))
    {
        var queries = new QueryBenchmarks(dataSource, store, rows, span);
        Console.WriteLine();
        if (reuse is null || args.Contains("--resume"))
        {
            await queries.LoadAsync(resume: reuse is not null);
        }
        else
        {
            Console.WriteLine($"reusing {name}: {await dataSource.ScalarAsync<long>("SELECT count(*) FROM chat_completions"):N0} completions already loaded");
        }

        if (args.Contains("--load-only"))
        {
            return;
        }

        Console.WriteLine();
        await queries.MeasureAsync(iterations);
        await queries.ExplainAsync();
        Console.WriteLine();
        await Footprint.ReportAsync(dataSource, sample => Workload.Generate(rows, QueryBenchmarks.Seed, span).Take(sample));
        // The compression samples and the prune empty the tables first: not on a data set kept for another run.
        if (!keep)
        {
            Console.WriteLine();
            await Footprint.CompressionAsync(dataSource, samples);
            Console.WriteLine();
            await PruneBenchmark.RunAsync(dataSource, store, pruneRows);
        }
    }

    // Last, and exactly this shape: scripts read the final line.
    Console.WriteLine();
    Console.WriteLine(bulkVsCopy ?? "bulk_vs_copy: not measured (--queries-only)");
}
finally
{
    NpgsqlConnection.ClearAllPools();
    if (!keep)
    {
        await using var server = NpgsqlDataSource.Create(admin.ConnectionString);
        await using var drop = server.CreateCommand($"DROP DATABASE IF EXISTS {name} WITH (FORCE)");
        await drop.ExecuteNonQueryAsync();
    }
}

// The five ingest methods on the same completions, then the guarantees' costs; returns the final line, bulk_vs_copy.
async Task<string> IngestAsync(NpgsqlDataSource dataSource)
{
    Console.WriteLine($"machine: {Environment.ProcessorCount} cores, .NET {Environment.Version}; {count:N0} completions per case ({slowCount:N0} for per-completion SaveChanges), {runs} runs, median and min shown");
    var benchmarks = new IngestBenchmarks(dataSource);
    var cases = new (string Name, IngestBenchmarks.Method Method, int Count)[]
    {
        ("(a) EF Core, one SaveChanges per completion", benchmarks.EfPerCompletion, slowCount),
        ("(b) EF Core, AddRange + SaveChanges per 1,000", benchmarks.EfBatched, count),
        ("(c) raw binary COPY, both tables (the limit)", benchmarks.RawCopy, count),
        ("(d) store bulk path, SaveManyAsync", benchmarks.StoreBulk, count),
        ("(e) buffered writer, EnqueueAsync", benchmarks.BufferedWriter, count),
    };

    var medians = new Dictionary<string, double>();
    Console.WriteLine();
    Console.WriteLine($"{"method",-48} {"completions/s",14} {"best run",10} {"x COPY",8}");
    // Runs are interleaved round-robin so that drift on a noisy machine hits every case alike.
    var rates = cases.ToDictionary(c => c.Name, _ => new List<double>());
    var data = Workload.Create(count, seed: 1);
    // Warm-up, untimed: every case once, so that the timed runs measure steady-state code (JIT tiering promotes a hot
    // method only once new code has stopped appearing for a while), warm pools and cached plans.
    foreach (var (_, method, n) in cases)
    {
        await benchmarks.TimeAsync(method, data.Take(n).ToList());
    }

    for (var run = 0; run < runs; run++)
    {
        foreach (var (caseName, method, n) in cases)
        {
            var elapsed = await benchmarks.TimeAsync(method, data.Take(n).ToList());
            rates[caseName].Add(n / elapsed.TotalSeconds);
        }
    }

    var copy = Median(rates[cases[2].Name]);
    foreach (var (caseName, _, _) in cases)
    {
        var median = Median(rates[caseName]);
        medians[caseName] = median;
        Console.WriteLine($"{caseName,-48} {median,14:N0} {rates[caseName].Max(),10:N0} {median / copy,8:0.00}");
    }

    Console.WriteLine();
    Console.WriteLine($"writer_vs_copy: {(medians[cases[4].Name] / copy).ToString("0.00", CultureInfo.InvariantCulture)}");

    Console.WriteLine();
    await new GuaranteeBenchmarks(dataSource, benchmarks).RunAsync(quick ? 3_200 : 16_000, count, quick ? 3 : 5);

    return $"bulk_vs_copy: {(medians[cases[3].Name] / copy).ToString("0.00", CultureInfo.InvariantCulture)}";
}

static double Median(List<double> values)
{
    var sorted = values.Order().ToList();
    return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
}

string? Option(string name)
{
    var at = Array.IndexOf(args, name);
    return at >= 0 && at + 1 < args.Length ? args[at + 1] : null;
}

using System.Diagnostics;
using Storage.Internal;

namespace Storage.Benchmarks;

/// <summary>
/// The per-item client cost of the bulk path without a database: content hash and validation, in µs per completion,
/// over the generated workload and the project's sample completions. Usage: <c>-- --hash</c>.
/// </summary>
internal static class HashBenchmark
{
    public static void Run()
    {
        var workload = Workload.Create(5_000, seed: 1);
        var samplesDirectory = FindSamples();
        var samples = Directory.EnumerateFiles(samplesDirectory, "*.json").Select(f => ChatCompletionJson.Parse(File.ReadAllText(f))).ToList();
        var validator = new CompletionValidator(new ChatCompletionStoreOptions());
        Console.WriteLine($"{"set",-28} {"items",7} {"hash µs",9} {"validate µs",12}");
        Report("workload (1 KB content)", workload, validator);
        Report("src/samples/completions", [.. Enumerable.Repeat(samples, 1_000).SelectMany(s => s)], validator);
    }

    private static void Report(string name, List<ChatCompletion> items, CompletionValidator validator)
    {
        var hash = Best(items, c => ContentHash.Compute(c, ""));
        var validate = Best(items, validator.Validate);
        Console.WriteLine($"{name,-28} {items.Count,7:N0} {hash,9:0.00} {validate,12:0.00}");
    }

    // The best of ten passes after a warm-up one: the least disturbed by other work on a shared machine.
    private static double Best(List<ChatCompletion> items, Action<ChatCompletion> action)
    {
        var best = double.MaxValue;
        for (var pass = 0; pass < 11; pass++)
        {
            var watch = Stopwatch.StartNew();
            foreach (var item in items)
            {
                action(item);
            }

            if (pass > 0)
            {
                best = Math.Min(best, watch.Elapsed.TotalMicroseconds / items.Count);
            }
        }

        return best;
    }

    private static string FindSamples()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            var candidate = Path.Combine(directory.FullName, "src", "samples", "completions");
            if (Directory.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new DirectoryNotFoundException("src/samples/completions not found above the benchmark binaries.");
    }
}

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
        Console.WriteLine($"{"set (processor µs per item)",-28} {"items",7} {"hash",9} {"validate",12}");
        Report("workload (1 KB content)", workload, validator);
        Report("src/samples/completions", [.. Enumerable.Repeat(samples, 1_000).SelectMany(s => s)], validator);
    }

    private static void Report(string name, List<ChatCompletion> items, CompletionValidator validator)
    {
        // Both once before either is measured, so neither pays for the other's JIT tiering.
        Best(items, c => ContentHash.Compute(c, ""));
        Best(items, validator.Validate);
        var hash = Best(items, c => ContentHash.Compute(c, ""));
        var validate = Best(items, validator.Validate);
        Console.WriteLine($"{name,-28} {items.Count,7:N0} {hash,9:0.00} {validate,12:0.00}");
    }

    // Processor time, not wall-clock time, so that other work on a shared machine does not count; the best of ten
    // passes after a warm-up one. It includes the runtime's own threads (GC, JIT), which are part of the cost.
    private static double Best(List<ChatCompletion> items, Action<ChatCompletion> action)
    {
        var best = double.MaxValue;
        // Garbage left by the previous measurement would be collected, on other threads, during this one.
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        using var process = Process.GetCurrentProcess();
        for (var pass = 0; pass < 11; pass++)
        {
            process.Refresh();
            var started = process.TotalProcessorTime;
            foreach (var item in items)
            {
                action(item);
            }

            process.Refresh();
            if (pass > 0)
            {
                best = Math.Min(best, (process.TotalProcessorTime - started).TotalMicroseconds / items.Count);
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

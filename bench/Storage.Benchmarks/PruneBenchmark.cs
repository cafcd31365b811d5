using System.Diagnostics;
using Npgsql;
using Storage;

namespace Storage.Benchmarks;

/// <summary>
/// Retention of one month two ways, on the same number of completions: the month's partitions dropped
/// (<c>DeleteCreatedBeforeAsync</c> without a filter), and the batched <c>DELETE</c> of another month's rows (the same
/// call with a model filter, which keeps partitions whole), with the database's size before and after each.
/// </summary>
internal static class PruneBenchmark
{
    private const string Model = "bench-prune";

    public static async Task RunAsync(NpgsqlDataSource dataSource, ChatCompletionStore store, int rowsPerMonth)
    {
        DateTimeOffset january = new(2024, 1, 1, 0, 0, 0, TimeSpan.Zero), february = january.AddMonths(1), march = february.AddMonths(1);
        Console.WriteLine($"prune of one month: {rowsPerMonth:N0} completions in each of two months, through SaveManyAsync");
        await LoadAsync(store, seed: 21, january, rowsPerMonth);
        await LoadAsync(store, seed: 22, february, rowsPerMonth);
        await store.EnsurePartitionsAsync();
        await ExecuteAsync(dataSource, "VACUUM ANALYZE");

        var before = await SizeAsync(dataSource);
        var watch = Stopwatch.StartNew();
        var dropped = await store.DeleteCreatedBeforeAsync(february);
        var dropTime = watch.Elapsed;
        var afterDrop = await SizeAsync(dataSource);

        watch.Restart();
        var deleted = await store.DeleteCreatedBeforeAsync(march, new ChatCompletionFilter { Model = Model });
        var deleteTime = watch.Elapsed;
        var afterDelete = await SizeAsync(dataSource);

        Console.WriteLine($"{"method",-52} {"completions",12} {"seconds",9} {"database MB before",19} {"after",8}");
        Console.WriteLine($"{"DROP of the month's partitions (no filter)",-52} {dropped,12:N0} {dropTime.TotalSeconds,9:0.000} {Mb(before),19:N1} {Mb(afterDrop),8:N1}");
        Console.WriteLine($"{"batched DELETE of the month's rows (model filter)",-52} {deleted,12:N0} {deleteTime.TotalSeconds,9:0.000} {Mb(afterDrop),19:N1} {Mb(afterDelete),8:N1}");
        Console.WriteLine($"prune_drop_vs_delete: {deleteTime.TotalSeconds / Math.Max(dropTime.TotalSeconds, 1e-6):0}x faster, {Mb(before - afterDrop):N1} MB returned by DROP, {Mb(afterDrop - afterDelete):N1} MB by DELETE");
    }

    private static async Task LoadAsync(ChatCompletionStore store, int seed, DateTimeOffset month, int count)
    {
        var span = (month.AddMonths(1) - month).TotalSeconds;
        var completions = Workload.Generate(count, seed, TimeSpan.FromSeconds(count / 10)).Select((completion, i) =>
        {
            completion.Created = month.AddSeconds((long)(i * span / count));
            completion.Model = Model;
            return completion;
        });
        await foreach (var result in store.SaveManyAsync(completions))
        {
            if (result.Error is { } error)
            {
                throw error;
            }
        }
    }

    private static async Task<long> SizeAsync(NpgsqlDataSource dataSource)
    {
        await using var command = dataSource.CreateCommand("SELECT pg_database_size(current_database())");
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private static async Task ExecuteAsync(NpgsqlDataSource dataSource, string sql)
    {
        await using var command = dataSource.CreateCommand(sql);
        command.CommandTimeout = 0;
        await command.ExecuteNonQueryAsync();
    }

    private static double Mb(long bytes) => bytes / 1024.0 / 1024.0;
}

using System.Diagnostics;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using Storage.Internal;

namespace Storage.Benchmarks;

/// <summary>The five ways of writing the same completions, each into emptied tables, timed end to end.</summary>
internal sealed class IngestBenchmarks(NpgsqlDataSource dataSource)
{
    public delegate Task Method(IReadOnlyList<ChatCompletion> completions);

    public Method EfPerCompletion => async completions =>
    {
        await using var store = new ChatCompletionStore(dataSource);
        foreach (var completion in completions)
        {
            await store.SaveAsync(completion);
        }
    };

    // What a team would write with EF alone: AddRange and one SaveChanges per 1,000, keys computed the same way.
    public Method EfBatched => async completions =>
    {
        var options = StorageModel.Configure(new DbContextOptionsBuilder<ChatCompletionDbContext>(), dataSource).Options;
        foreach (var chunk in completions.Chunk(1000))
        {
            await using var db = new ChatCompletionDbContext(options);
            db.ChangeTracker.AutoDetectChangesEnabled = false;
            foreach (var completion in chunk)
            {
                var hash = ContentHash.Compute(completion, "");
                var entry = db.Completions.Add(completion);
                entry.Property(ShadowProperties.CompletionKey).CurrentValue = ContentHash.ToKey(hash);
                entry.Property(ShadowProperties.ContentHash).CurrentValue = hash;
            }

            await db.SaveChangesAsync();
        }
    };

    // The limit: binary COPY straight into both tables, with no validation, hashing, staging or idempotency.
    public Method RawCopy => async completions =>
    {
        var random = new Random(1);
        foreach (var chunk in completions.Chunk(1000))
        {
            var rows = chunk.Select(c => new RawRow(c, random.NextInt64(), RandomHash(random))).ToList();
            await using var connection = await dataSource.OpenConnectionAsync();
            await using var transaction = await connection.BeginTransactionAsync();
            await BulkCopy.CopyAsync(connection, ChatCompletionConfiguration.TableName, BulkCopy.CompletionColumns, rows, CancellationToken.None);
            await BulkCopy.CopyAsync(connection, ChatChoiceConfiguration.TableName, BulkCopy.ChoiceColumns, rows.SelectMany(r => r.Completion.Choices.Select(h => ((BulkCopy.IRow)r, h))), CancellationToken.None);
            await transaction.CommitAsync();
        }
    };

    public Method StoreBulk => async completions =>
    {
        await using var store = new ChatCompletionStore(dataSource);
        await foreach (var result in store.SaveManyAsync(completions))
        {
            if (result.Outcome != SaveOutcome.Stored)
            {
                throw new InvalidOperationException($"Item {result.Position} was not stored: {result.Error?.Message}");
            }
        }
    };

    public Method BufferedWriter => async completions =>
    {
        await using var store = new ChatCompletionStore(dataSource);
        var writer = new ChatCompletionWriter(store);
        foreach (var completion in completions)
        {
            await writer.EnqueueAsync(completion);
        }

        await writer.DisposeAsync();
    };

    public async Task<TimeSpan> TimeAsync(Method method, IReadOnlyList<ChatCompletion> completions)
    {
        await using (var truncate = dataSource.CreateCommand($"TRUNCATE {ChatCompletionConfiguration.TableName}, {ChatChoiceConfiguration.TableName}"))
        {
            await truncate.ExecuteNonQueryAsync();
        }

        var started = Stopwatch.GetTimestamp();
        await method(completions);
        var elapsed = Stopwatch.GetElapsedTime(started);
        await using var count = dataSource.CreateCommand($"SELECT count(*) FROM {ChatCompletionConfiguration.TableName}");
        var stored = (long)(await count.ExecuteScalarAsync())!;
        return stored == completions.Count ? elapsed : throw new InvalidOperationException($"Expected {completions.Count} rows, found {stored}.");
    }

    private static byte[] RandomHash(Random random)
    {
        var hash = new byte[ContentHash.Length];
        random.NextBytes(hash);
        return hash;
    }

    private sealed record RawRow(ChatCompletion Completion, long Key, byte[] Hash) : BulkCopy.IRow
    {
        public ChatCompletionCost? Cost => null;
    }
}

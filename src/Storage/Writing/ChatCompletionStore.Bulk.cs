using System.Runtime.CompilerServices;
using Npgsql;
using Storage.Internal;

namespace Storage;

public sealed partial class ChatCompletionStore
{
    private const int StagedBatchesAfterConflict = 8;

    // Per view: replays come from one tenant's import.
    private int _stagedBatchesLeft;

    /// <summary>
    /// Stores a stream of completions at bulk speed, in constant memory: each batch is one transaction, a binary COPY
    /// straight into the tables when none of it is stored yet, or else (a replay in the batch, or a role under
    /// row-level security) a binary COPY into a staging table and one <c>INSERT … ON CONFLICT DO NOTHING</c>. Yields one result per input
    /// item, in input order, once its batch has committed: a yielded <see cref="SaveOutcome.Stored"/> is durable.
    /// Invalid items are rejected on their own and never sink the rest of their batch; replays, within the
    /// input or of stored completions, are reported as <see cref="SaveOutcome.AlreadyStored"/>.
    /// </summary>
    /// <exception cref="ChatCompletionStoreException">The database failed; the current batch was rolled back and nothing of it is yielded.</exception>
    public async IAsyncEnumerable<BulkSaveResult> SaveManyAsync(
        IAsyncEnumerable<ChatCompletion> completions,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        using var activity = StorageTelemetry.ActivitySource.StartActivity("storage.save_many");
        ArgumentNullException.ThrowIfNull(completions);
        var batch = new List<BulkItem>(_options.BulkBatchSize);
        // One batch is written while the next is validated and hashed: client and server work overlap,
        // and memory stays at two batches whatever the length of the input.
        Task<IReadOnlyList<BulkSaveResult>>? writing = null;
        long position = 0;
        try
        {
            await foreach (var completion in completions.WithCancellation(cancellationToken).ConfigureAwait(false))
            {
                batch.Add(Prepare(position++, completion));
                if (batch.Count < _options.BulkBatchSize)
                {
                    continue;
                }

                if (writing is not null)
                {
                    var written = await writing.ConfigureAwait(false);
                    writing = null;
                    foreach (var result in written)
                    {
                        yield return result;
                    }
                }

                var full = batch;
                writing = Task.Run(() => WriteBatchAsync(full, cancellationToken), cancellationToken);
                batch = new List<BulkItem>(_options.BulkBatchSize);
            }

            if (writing is not null)
            {
                var written = await writing.ConfigureAwait(false);
                writing = null;
                foreach (var result in written)
                {
                    yield return result;
                }
            }

            foreach (var result in await WriteBatchAsync(batch, cancellationToken).ConfigureAwait(false))
            {
                yield return result;
            }
        }
        finally
        {
            // A caller that stops early, or an input that throws, must not leave a batch being written in the
            // background with nobody to see it fail: wait for it, and let its failure surface.
            if (writing is not null)
            {
                await writing.ConfigureAwait(false);
            }
        }
    }

    /// <inheritdoc cref="SaveManyAsync(IAsyncEnumerable{ChatCompletion}, CancellationToken)"/>
    public IAsyncEnumerable<BulkSaveResult> SaveManyAsync(IEnumerable<ChatCompletion> completions, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(completions);
        return SaveManyAsync(completions.ToAsyncEnumerable(), cancellationToken);
    }

    private BulkItem Prepare(long position, ChatCompletion completion)
    {
        try
        {
            ArgumentNullException.ThrowIfNull(completion);
            _validator.Validate(completion);
            var hash = ContentHash.Compute(completion, _tenant);
            return new BulkItem(position, completion, ContentHash.ToKey(hash), hash, null);
        }
        catch (ChatCompletionValidationException e)
        {
            return new BulkItem(position, completion, 0, [], e);
        }
        catch (ArgumentNullException e)
        {
            return new BulkItem(position, completion, 0, [], new ChatCompletionValidationException("$", ChatCompletionValidationRule.Required, "cannot be null", e));
        }
    }

    private async Task<IReadOnlyList<BulkSaveResult>> WriteBatchAsync(List<BulkItem> batch, CancellationToken cancellationToken)
    {
        if (batch.Count == 0)
        {
            return [];
        }

        // The first of several equal items in one batch is the one written; the others are replays of it.
        var firsts = new Dictionary<(long Key, DateTimeOffset Created), BulkItem>();
        var outcomes = new Dictionary<long, (SaveOutcome? Outcome, ChatCompletionStoreException? Error)>();
        foreach (var item in batch)
        {
            if (item.Error is not null)
            {
                continue;
            }

            if (!firsts.TryAdd((item.Key, item.Completion.Created), item))
            {
                outcomes[item.Position] = firsts[(item.Key, item.Completion.Created)].Hash.AsSpan().SequenceEqual(item.Hash)
                    ? (SaveOutcome.AlreadyStored, null)
                    : (null, KeyCollision());
            }
        }

        if (firsts.Count > 0)
        {
            var prices = await ExecuteAsync(null, "read prices", token => PricesAsync(token).AsTask(), cancellationToken).ConfigureAwait(false);
            foreach (var item in firsts.Values)
            {
                item.Cost = CostCalculator.Compute(item.Completion.Model, item.Completion.Created, item.Completion.Usage, prices);
            }

            // Straight COPY unless a recent batch met stored keys (a re-import is replays throughout) or the role
            // is under row-level security; a batch that meets one costs one rolled-back COPY and takes the staged path.
            var tryDirect = !Volatile.Read(ref _directCopy.Unsupported) && (Volatile.Read(ref _stagedBatchesLeft) <= 0 || Interlocked.Decrement(ref _stagedBatchesLeft) < 0);
            var (written, direct) = await ExecuteAsync(
                    null,
                    "save a batch of completions",
                    async token =>
                    {
                        var batchWritten = await BulkCopy.WriteAsync(_dataSource, _claim, firsts.Values, tryDirect, token).ConfigureAwait(false);
                        await NoteWriteAsync(token).ConfigureAwait(false);
                        return batchWritten;
                    },
                    cancellationToken)
                .ConfigureAwait(false);
            if (direct == BulkCopy.Direct.Conflict)
            {
                Volatile.Write(ref _stagedBatchesLeft, StagedBatchesAfterConflict);
            }
            else if (direct == BulkCopy.Direct.Unsupported)
            {
                Volatile.Write(ref _directCopy.Unsupported, true);
            }

            foreach (var item in firsts.Values)
            {
                var outcome = written[(item.Key, item.Completion.Created)];
                if (outcome == BulkCopy.Written.Inserted)
                {
                    CountCost(item.Completion, item.Cost);
                }

                outcomes[item.Position] = outcome switch
                {
                    BulkCopy.Written.Inserted => (SaveOutcome.Stored, null),
                    BulkCopy.Written.SameContent => (SaveOutcome.AlreadyStored, null),
                    _ => (null, KeyCollision()),
                };
            }
        }

        return batch
            .Select(item => item.Error is not null
                ? new BulkSaveResult(item.Position, item.Completion, null, item.Error)
                : new BulkSaveResult(item.Position, item.Completion, outcomes[item.Position].Outcome, outcomes[item.Position].Error))
            .ToList();
    }

    private static ChatCompletionStoreException KeyCollision() =>
        new("Could not store the completion: its 64-bit storage key collides with a different completion created in the same second.");

    private sealed record BulkItem(long Position, ChatCompletion Completion, long Key, byte[] Hash, ChatCompletionValidationException? Error) : BulkCopy.IRow
    {
        public ChatCompletionCost? Cost { get; set; }
    }
}

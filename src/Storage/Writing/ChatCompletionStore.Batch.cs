using System.Runtime.CompilerServices;
using Storage.Internal;

namespace Storage;

public sealed partial class ChatCompletionStore
{
    /// <summary>
    /// Imports the results of an OpenAI Batch API job: joins each line of the output file (<c>custom_id</c>,
    /// <c>response.status_code</c>, <c>response.body</c> = the completion, <c>error</c>) with the input line of the same
    /// <c>custom_id</c> (whose <c>body</c> is the request) and stores the completion with that request as its
    /// <see cref="ChatCompletion.Call"/> (started at the completion's <c>created</c>, the batch recording no send time),
    /// through the bulk path (<see cref="SaveManyAsync(IAsyncEnumerable{ChatCompletion}, CancellationToken)"/>). A line
    /// that failed (an <c>error</c>, a status other than 200), has no input line, or is malformed is skipped and yielded
    /// with the reason. The input file is read whole first (its requests are kept in memory, keyed by <c>custom_id</c>,
    /// since the output's order is not the input's); the output is streamed.
    /// </summary>
    /// <param name="batchInput">The input file as JSON Lines (UTF-8); read to its end.</param>
    /// <param name="batchOutput">The output file as JSON Lines (UTF-8).</param>
    /// <param name="cancellationToken">Cancels the import; batches already committed stay.</param>
    /// <returns>One result per non-blank output line, roughly in file order (skipped lines can come before the stored lines of the batch before them).</returns>
    /// <exception cref="ChatCompletionStoreException">The database failed; the batch in flight was rolled back.</exception>
    public async IAsyncEnumerable<ChatCompletionBatchResult> ImportBatchAsync(
        Stream batchInput, Stream batchOutput, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(batchInput);
        ArgumentNullException.ThrowIfNull(batchOutput);
        var requests = await BatchFiles.ReadRequestsAsync(batchInput, cancellationToken).ConfigureAwait(false);
        // Lines handed to the bulk path and not yet answered (at most a batch), and skipped lines not yet yielded.
        var pending = new Queue<(long Line, string CustomId)>();
        var skipped = new Queue<ChatCompletionBatchResult>();
        await foreach (var saved in SaveManyAsync(Joined(), cancellationToken).ConfigureAwait(false))
        {
            while (skipped.TryDequeue(out var result))
            {
                yield return result;
            }

            var (line, customId) = pending.Dequeue();
            yield return new ChatCompletionBatchResult(line, customId, saved.Outcome, saved.Error?.Message);
        }

        while (skipped.TryDequeue(out var result))
        {
            yield return result;
        }

        async IAsyncEnumerable<ChatCompletion> Joined()
        {
            await foreach (var line in BatchFiles.ReadOutputAsync(batchOutput, requests, cancellationToken).ConfigureAwait(false))
            {
                if (line.Completion is null)
                {
                    skipped.Enqueue(new ChatCompletionBatchResult(line.Number, line.CustomId, null, line.Error));
                    continue;
                }

                pending.Enqueue((line.Number, line.CustomId!));
                yield return line.Completion;
            }
        }
    }
}

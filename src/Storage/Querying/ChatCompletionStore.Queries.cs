using System.Runtime.CompilerServices;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using Storage.Internal;

namespace Storage;

// The query surface, mirroring OpenAI's stored-completions API: list, update metadata, delete, plus export,
// retention and usage totals. Lists and exports page by keyset on (created, completion_key), never by OFFSET.
public sealed partial class ChatCompletionStore
{
    private const int DefaultListLimit = 20;

    /// <summary>How many completions one export query reads; tests lower it to cross batch boundaries.</summary>
    internal int ExportBatchSize { get; set; } = 250;

    /// <summary>How many completions one retention DELETE removes; tests lower it to cross batch boundaries.</summary>
    internal int DeleteBatchSize { get; set; } = 1000;

    /// <summary>
    /// Lists stored completions with their choices, one page at a time, like OpenAI's <c>GET /v1/chat/completions</c>.
    /// Pages are ordered by <c>created</c> with ties broken by a stable storage key, and continue after a position rather
    /// than an offset: walking <see cref="ChatCompletionPage.LastId"/> to the end returns every completion that existed
    /// at the start exactly once, whatever is stored meanwhile and however many share a second.
    /// </summary>
    /// <param name="filter">Which completions to list; <c>null</c> for all.</param>
    /// <param name="after">
    /// The vendor id of the last item of the previous page (OpenAI's <c>after</c>), or <c>null</c> for the first page.
    /// Vendor ids are not unique: when several stored completions share this id, the page continues after the most
    /// recently stored of them (the one <see cref="GetAsync"/> returns), so a list that holds duplicates of an id
    /// can skip or repeat items around them.
    /// </param>
    /// <param name="limit">The page size, 1 to 100; 20 by default, as OpenAI's.</param>
    /// <param name="order">
    /// <see cref="ChatCompletionOrder.Descending"/> (newest first) by default, as OpenAI's live API answers when no order is
    /// sent (its reference documents <c>asc</c>; the recorded responses are newest first).
    /// </param>
    /// <param name="cancellationToken">Cancels the query.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="limit"/> is outside 1..100, or <paramref name="order"/> is undefined.</exception>
    /// <exception cref="ArgumentException">A metadata value of the filter is null.</exception>
    /// <exception cref="ChatCompletionNotFoundException">No stored completion has the id <paramref name="after"/>.</exception>
    /// <exception cref="ChatCompletionStoreException">The database failed.</exception>
    public async Task<ChatCompletionPage> ListAsync(
        ChatCompletionFilter? filter = null,
        string? after = null,
        int limit = DefaultListLimit,
        ChatCompletionOrder order = ChatCompletionOrder.Descending,
        CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(limit, CompletionQueries.MaxLimit);
        if (!Enum.IsDefined(order))
        {
            throw new ArgumentOutOfRangeException(nameof(order), order, "The order must be Ascending or Descending.");
        }

        FilterValues.Validate(filter, nameof(filter));
        if (after is not null && !FilterValues.IsStorable(after))
        {
            throw new ChatCompletionNotFoundException(after, nameof(after));
        }

        return await ReadAsync(
                "storage.list", "list completions", (db, token) => CompletionQueries.ListAsync(db, filter, after, limit, order, token), cancellationToken)
            .ConfigureAwait(false);
    }

    /// <summary>
    /// Streams every completion matching the filter, with its choices, oldest first (by <c>created</c>, ties broken by a
    /// stable storage key), for exports. Memory stays constant: completions are read in batches of a few hundred, each
    /// continuing after the last one read, and no connection is held while the caller processes a batch. It is not one
    /// snapshot: every completion that exists and matches throughout is returned exactly once; one stored or deleted
    /// meanwhile may or may not be.
    /// </summary>
    /// <param name="filter">Which completions to export; <c>null</c> for all.</param>
    /// <param name="cancellationToken">Cancels the enumeration.</param>
    /// <exception cref="ArgumentException">A metadata value of the filter is null.</exception>
    /// <exception cref="ChatCompletionStoreException">The database failed.</exception>
    public async IAsyncEnumerable<ChatCompletion> ExportAsync(
        ChatCompletionFilter? filter = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        using var activity = StorageTelemetry.ActivitySource.StartActivity("storage.export");
        FilterValues.Validate(filter, nameof(filter));
        var batchSize = ExportBatchSize;
        CompletionQueries.KeysetPosition? position = null;
        while (true)
        {
            var batch = await ExportBatchAsync(filter, position, batchSize, cancellationToken).ConfigureAwait(false);
            foreach (var row in batch)
            {
                cancellationToken.ThrowIfCancellationRequested();
                yield return row.ToCompletion();
            }

            if (batch.Count < batchSize)
            {
                yield break;
            }

            position = batch[^1].Position;
        }
    }

    /// <summary>
    /// Streams the completions matching the filter, oldest first like <see cref="ExportAsync"/>, as lines of OpenAI's chat
    /// fine-tuning JSONL: <c>{"messages": [the stored request's messages…, the assistant message of choice 0 with its
    /// content and function tool calls], "tools": […]}</c>, with <c>tools</c> and <c>parallel_tool_calls</c> when the
    /// request had them. A completion stored without a request (<see cref="ChatCompletion.Call"/>), or whose choice 0
    /// has neither content nor a function tool call, is yielded with <see cref="ChatCompletionExportLine.Skipped"/> saying why.
    /// </summary>
    /// <param name="filter">Which completions to export; <c>null</c> for all.</param>
    /// <param name="cancellationToken">Cancels the enumeration.</param>
    /// <exception cref="ArgumentException">A metadata value of the filter is null.</exception>
    /// <exception cref="ChatCompletionStoreException">The database failed.</exception>
    public IAsyncEnumerable<ChatCompletionExportLine> ExportFineTuningAsync(ChatCompletionFilter? filter = null, CancellationToken cancellationToken = default) =>
        ExportAsync(filter, cancellationToken).Select(TrainingLines.FineTuning);

    /// <summary>
    /// Streams the completions matching the filter, oldest first, as lines of an evaluation set:
    /// <c>{"item": {"input": [the stored request's messages…], "ideal": the assistant's content in choice 0}, "completion_id",
    /// "model", "metadata"}</c> (<c>ideal</c> is <c>null</c> when the answer was a tool call only). A completion stored
    /// without a request is yielded with <see cref="ChatCompletionExportLine.Skipped"/> saying why.
    /// </summary>
    /// <param name="filter">Which completions to export; <c>null</c> for all.</param>
    /// <param name="cancellationToken">Cancels the enumeration.</param>
    /// <exception cref="ArgumentException">A metadata value of the filter is null.</exception>
    /// <exception cref="ChatCompletionStoreException">The database failed.</exception>
    public IAsyncEnumerable<ChatCompletionExportLine> ExportEvalAsync(ChatCompletionFilter? filter = null, CancellationToken cancellationToken = default) =>
        ExportAsync(filter, cancellationToken).Select(TrainingLines.Eval);

    /// <summary>
    /// Gets the completion with this vendor id (the most recently stored one when several share the id) together with
    /// its version, to pass to <see cref="UpdateMetadataAsync"/>; <c>null</c> when none has the id.
    /// </summary>
    /// <exception cref="ChatCompletionStoreException">The database failed.</exception>
    public async Task<StoredChatCompletion?> GetWithVersionAsync(string id, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(id);
        if (!FilterValues.IsStorable(id))
        {
            return null;
        }

        // On the primary: the version is what a metadata update will check, and a standby's could be stale.
        return await ReadPrimaryAsync(
                "storage.get",
                "read the completion",
                async (db, token) => (await CompletionQueries.GetStoredAsync(db, id, token).ConfigureAwait(false))?.ToStored(),
                cancellationToken)
            .ConfigureAwait(false);
    }

    /// <summary>
    /// Replaces the whole metadata map of the completion with this vendor id (the most recently stored one when several
    /// share the id), like OpenAI's <c>POST /v1/chat/completions/{id}</c>, and returns the completion as now stored with
    /// its new version. Only the metadata changes: the content hash stays that of the completion as first saved, so
    /// saving the original again still returns <see cref="SaveOutcome.AlreadyStored"/>.
    /// </summary>
    /// <param name="id">The vendor id.</param>
    /// <param name="metadata">The new map, held to the same limits as on save; <c>null</c> removes the metadata.</param>
    /// <param name="expectedVersion">
    /// The <see cref="StoredChatCompletion.Version"/> of a prior read (an <c>If-Match</c>): the update then happens only
    /// if the completion is still that version, so two callers that read the same version cannot overwrite each other.
    /// <c>null</c> to replace the metadata whatever happened since (last writer wins).
    /// </param>
    /// <param name="cancellationToken">Cancels the update; nothing is written then.</param>
    /// <exception cref="ChatCompletionValidationException">The metadata breaks a limit (<see cref="ChatCompletionValidationRule.MetadataLimit"/>) or holds unstorable text; nothing was written.</exception>
    /// <exception cref="ChatCompletionNotFoundException">No stored completion has the id (and no version was expected).</exception>
    /// <exception cref="ChatCompletionConcurrencyException">The completion is no longer <paramref name="expectedVersion"/>: changed, deleted or superseded.</exception>
    /// <exception cref="ChatCompletionStoreException">The database failed; nothing was written.</exception>
    public async Task<StoredChatCompletion> UpdateMetadataAsync(
        string id, IDictionary<string, string>? metadata, string? expectedVersion = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(id);
        _validator.ValidateMetadata(metadata);
        if (!FilterValues.IsStorable(id))
        {
            throw expectedVersion is null
                ? new ChatCompletionNotFoundException(id, nameof(id))
                : new ChatCompletionConcurrencyException(id, expectedVersion, currentVersion: null);
        }

        // The whole transaction is retried on a transient failure. If a commit's outcome was unknown, the retry
        // finds the row already changed: without a version it writes the same map again; with one it reports a
        // conflict rather than overwrite blindly, and a re-read shows the caller's own update.
        return await ExecuteAsync(
                "storage.update_metadata",
                "update the metadata",
                (db, token) => db.Database.CreateExecutionStrategy().ExecuteAsync(
                    (db, id, metadata, expectedVersion),
                    static (state, token) => CompletionQueries.UpdateMetadataAsync(state.db, state.id, state.metadata, state.expectedVersion, token),
                    token),
                cancellationToken)
            .ConfigureAwait(false);
    }

    /// <summary>
    /// Lists the input messages of the request stored with the completion of this vendor id (the most recently stored
    /// one when several share the id), like OpenAI's <c>GET /v1/chat/completions/{id}/messages</c>: each item is the
    /// message as sent, with an <c>id</c> (<c>{completion id}-{index}</c>), <c>content</c> as text and
    /// <c>content_parts</c> when the content was an array of parts. A completion stored without a request has none.
    /// </summary>
    /// <param name="id">The vendor id of the completion.</param>
    /// <param name="after">The id of the last message of the previous page, or <c>null</c> for the first page.</param>
    /// <param name="limit">The page size, 1 to 100; 20 by default, as OpenAI's.</param>
    /// <param name="order">The request's order (<see cref="ChatCompletionOrder.Ascending"/>, OpenAI's default) or the reverse.</param>
    /// <param name="cancellationToken">Cancels the query.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="limit"/> is outside 1..100, or <paramref name="order"/> is undefined.</exception>
    /// <exception cref="ChatCompletionNotFoundException">No stored completion has the id, or no message of it has the id <paramref name="after"/>.</exception>
    /// <exception cref="ChatCompletionStoreException">The database failed.</exception>
    public async Task<ChatCompletionMessagePage> ListMessagesAsync(
        string id,
        string? after = null,
        int limit = DefaultListLimit,
        ChatCompletionOrder order = ChatCompletionOrder.Ascending,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(id);
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(limit, CompletionQueries.MaxLimit);
        if (!Enum.IsDefined(order))
        {
            throw new ArgumentOutOfRangeException(nameof(order), order, "The order must be Ascending or Descending.");
        }

        if (!FilterValues.IsStorable(id))
        {
            throw new ChatCompletionNotFoundException(id, nameof(id));
        }

        var found = await ReadAsync(
                "storage.list_messages", "read the messages", (db, token) => CompletionQueries.CallAsync(db, id, token), cancellationToken)
            .ConfigureAwait(false);
        return found.Count == 0
            ? throw new ChatCompletionNotFoundException(id, nameof(id))
            : RequestMessages.Page(id, found[0]?.Request, after, limit, order);
    }

    /// <summary>
    /// Deletes the completion with this vendor id and its choices, like OpenAI's <c>DELETE /v1/chat/completions/{id}</c>.
    /// When several share the id, only the most recently stored one (the one <see cref="GetAsync"/> returns) is deleted,
    /// and <see cref="GetAsync"/> then returns the next. The usage totals keep counting it: they are a record of what was
    /// stored and used, which deleting content does not change (see <see cref="GetUsageAsync"/>).
    /// </summary>
    /// <returns>Whether a completion was deleted.</returns>
    /// <exception cref="ChatCompletionStoreException">The database failed; nothing was deleted.</exception>
    public async Task<bool> DeleteAsync(string id, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(id);
        if (!FilterValues.IsStorable(id))
        {
            return false;
        }

        return await ExecuteAsync("storage.delete", "delete the completion", (db, token) => CompletionQueries.DeleteAsync(db, id, token), cancellationToken)
            .ConfigureAwait(false);
    }

    /// <summary>
    /// Deletes every completion created before a cutoff that also matches the filter, with its choices, for retention.
    /// First it drops whole the partitions that lie entirely before the cutoff (and within the filter's created range),
    /// when the filter has no model and no metadata and the partition holds only this store's tenant's completions: the
    /// choices' partition, then the completions' one, and the disk is returned at once. What is left (the partition the
    /// cutoff cuts, the default partition, partitions a filter or another tenant keeps) is deleted in batches of 1,000
    /// completions, oldest first, each its own short statement and transaction, so no lock is held for long and writers
    /// are not blocked. Cancelling rolls back the batch in flight; earlier batches and drops stay. The usage totals of
    /// the deleted completions stay (see <see cref="GetUsageAsync"/>).
    /// </summary>
    /// <param name="createdBefore">Only completions created strictly before this instant are deleted.</param>
    /// <param name="filter">Further conditions (a model, metadata pairs, a created range); <c>null</c> for none.</param>
    /// <param name="cancellationToken">Stops the deletion; earlier batches stay deleted.</param>
    /// <returns>How many completions were deleted.</returns>
    /// <exception cref="ArgumentException">A metadata value of the filter is null.</exception>
    /// <exception cref="ChatCompletionStoreException">The database failed; earlier batches stay deleted.</exception>
    public async Task<long> DeleteCreatedBeforeAsync(
        DateTimeOffset createdBefore, ChatCompletionFilter? filter = null, CancellationToken cancellationToken = default)
    {
        FilterValues.Validate(filter, nameof(filter));
        var batchSize = DeleteBatchSize;
        return await ExecuteAsync("storage.delete_created_before", "delete completions", async (db, token) =>
        {
            long deleted = 0;
            if ((filter is null || FilterValues.CanMatch(filter)) && DropsWholePartitions(createdBefore, filter, out var notBefore, out var cutoff))
            {
                deleted = await DropPartitionsBeforeAsync(cutoff, notBefore, token).ConfigureAwait(false);
            }

            while (true)
            {
                var batch = await CompletionQueries.DeleteBatchAsync(db, createdBefore, filter, batchSize, token).ConfigureAwait(false);
                deleted += batch;
                if (batch < batchSize)
                {
                    return deleted;
                }
            }
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>How many stored completions match the filter (a count of the rows, unlike the usage totals, which keep deleted ones).</summary>
    /// <param name="filter">Which completions to count; <c>null</c> for all.</param>
    /// <param name="cancellationToken">Cancels the query.</param>
    /// <exception cref="ArgumentException">A metadata value of the filter is null.</exception>
    /// <exception cref="ChatCompletionStoreException">The database failed.</exception>
    public async Task<long> CountAsync(ChatCompletionFilter? filter = null, CancellationToken cancellationToken = default)
    {
        FilterValues.Validate(filter, nameof(filter));
        return await ExecuteAsync("storage.count", "count completions", (db, token) => db.Completions.Matching(db, filter).LongCountAsync(token), cancellationToken)
            .ConfigureAwait(false);
    }

    /// <summary>
    /// Sums token usage over the completions matching the filter (typically a created range), grouped by any
    /// combination of model, UTC day and one metadata key; computed entirely in PostgreSQL, rows ordered by the groups.
    /// Counts every matching completion; token sums include only what vendors reported.
    /// </summary>
    /// <remarks>
    /// Without a metadata filter or grouping, whole UTC days are read from the per-day totals the database keeps as
    /// completions are stored, which deletions (<see cref="DeleteAsync"/>, <see cref="DeleteCreatedBeforeAsync"/>, a
    /// dropped partition) leave as they are: the usage of a day stays what was stored that day after its content is
    /// gone. Partial days at the edges of the range, and every query with a metadata filter or grouping, sum the rows,
    /// so they cover the completions still stored only.
    /// </remarks>
    /// <param name="filter">Which completions to sum; <c>null</c> for all.</param>
    /// <param name="grouping">How to group; <c>null</c> for one row over everything (even when nothing matches).</param>
    /// <param name="cancellationToken">Cancels the query.</param>
    /// <exception cref="ArgumentException">A metadata value of the filter is null.</exception>
    /// <exception cref="ChatCompletionStoreException">The database failed.</exception>
    public async Task<IReadOnlyList<ChatCompletionUsageTotals>> GetUsageAsync(
        ChatCompletionFilter? filter = null, ChatCompletionUsageGrouping? grouping = null, CancellationToken cancellationToken = default)
    {
        FilterValues.Validate(filter, nameof(filter));
        return await ReadAsync("storage.usage", "sum usage", (db, token) => CompletionQueries.UsageAsync(db, filter, grouping, token), cancellationToken)
            .ConfigureAwait(false);
    }

    // Each batch on a context of its own, so no connection is held while the caller processes the previous one.
    private Task<List<CompletionQueries.StoredRow>> ExportBatchAsync(
        ChatCompletionFilter? filter, CompletionQueries.KeysetPosition? position, int batchSize, CancellationToken cancellationToken) =>
        ReadAsync(null, "export completions", (db, token) => CompletionQueries.ExportBatchAsync(db, filter, position, batchSize, token), cancellationToken);
}

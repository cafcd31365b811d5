using Storage.Internal;

namespace Storage;

// The one way a store operation runs: a span, a pooled context leased for this store's tenant, and the provider's
// failures turned into ChatCompletionStoreException (by StoreErrors, the one place that translates them). Operations run
// on the primary, except reads, which go to the read data source when the store has one (ReadReplica).
public sealed partial class ChatCompletionStore
{
    /// <summary>Runs an operation on the primary, on a context of its own scoped to this store's tenant; it counts as a write.</summary>
    /// <param name="activityName">The span to open, or <c>null</c> inside an operation that has one.</param>
    /// <param name="failureVerb">What failed, completing "Could not …" in the exception's message.</param>
    /// <param name="operation">The work; the context is disposed when it completes.</param>
    /// <param name="cancellationToken">Passed to the operation.</param>
    private Task<T> ExecuteAsync<T>(
        string? activityName, string failureVerb, Func<ChatCompletionDbContext, CancellationToken, Task<T>> operation, CancellationToken cancellationToken) =>
        ExecuteAsync(activityName, failureVerb, async token =>
        {
            var result = await OnPrimaryAsync(operation, token).ConfigureAwait(false);
            await NoteWriteAsync(token).ConfigureAwait(false);
            return result;
        }, cancellationToken);

    /// <summary>Runs a read on the primary even when the store has a read data source (the version a metadata update checks).</summary>
    private Task<T> ReadPrimaryAsync<T>(
        string? activityName, string failureVerb, Func<ChatCompletionDbContext, CancellationToken, Task<T>> operation, CancellationToken cancellationToken) =>
        ExecuteAsync(activityName, failureVerb, token => OnPrimaryAsync(operation, token), cancellationToken);

    /// <summary>Runs a read on the read data source when the store has one and it can answer, else on the primary.</summary>
    private Task<T> ReadAsync<T>(
        string? activityName, string failureVerb, Func<ChatCompletionDbContext, CancellationToken, Task<T>> operation, CancellationToken cancellationToken) =>
        _replica is null
            ? ReadPrimaryAsync(activityName, failureVerb, operation, cancellationToken)
            : ExecuteAsync(activityName, failureVerb, async token =>
            {
                var (served, result) = await _replica.TryReadAsync(_claim, _citus, operation, token).ConfigureAwait(false);
                return served ? result! : await OnPrimaryAsync(operation, token).ConfigureAwait(false);
            }, cancellationToken);

    /// <summary>Runs an operation that talks to the data source itself (the bulk path, the health check).</summary>
    private static async Task<T> ExecuteAsync<T>(
        string? activityName, string failureVerb, Func<CancellationToken, Task<T>> operation, CancellationToken cancellationToken)
    {
        using var activity = activityName is null ? null : StorageTelemetry.ActivitySource.StartActivity(activityName);
        try
        {
            return await operation(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (StoreErrors.IsProviderFailure(e))
        {
            // InvalidOperationException wraps the last failure when EF's retries are exhausted.
            throw StoreErrors.Translate(e, failureVerb);
        }
    }

    /// <summary>With read-your-writes and a read data source, notes the primary's WAL position after a write (see <see cref="ReadReplica"/>).</summary>
    private Task NoteWriteAsync(CancellationToken cancellationToken) =>
        _replica?.NoteWriteAsync(_dataSource, cancellationToken) ?? Task.CompletedTask;

    private async Task<T> OnPrimaryAsync<T>(Func<ChatCompletionDbContext, CancellationToken, Task<T>> operation, CancellationToken cancellationToken)
    {
        await using var db = await _contexts.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        db.Claim = _claim;
        db.OnCitus = await _citus.IsCitusAsync(db, cancellationToken).ConfigureAwait(false);
        return await operation(db, cancellationToken).ConfigureAwait(false);
    }
}

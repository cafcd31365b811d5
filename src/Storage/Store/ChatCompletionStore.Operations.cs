using Storage.Internal;

namespace Storage;

// The one way a store operation runs: a span, a pooled context leased for this store's tenant, and the provider's
// failures turned into ChatCompletionStoreException (by StoreErrors, the one place that translates them).
public sealed partial class ChatCompletionStore
{
    /// <summary>Runs an operation on a context of its own, scoped to this store's tenant.</summary>
    /// <param name="activityName">The span to open, or <c>null</c> inside an operation that has one.</param>
    /// <param name="failureVerb">What failed, completing "Could not …" in the exception's message.</param>
    /// <param name="operation">The work; the context is disposed when it completes.</param>
    /// <param name="cancellationToken">Passed to the operation.</param>
    private Task<T> ExecuteAsync<T>(
        string? activityName, string failureVerb, Func<ChatCompletionDbContext, CancellationToken, Task<T>> operation, CancellationToken cancellationToken) =>
        ExecuteAsync(activityName, failureVerb, async token =>
        {
            await using var db = await _contexts.CreateDbContextAsync(token).ConfigureAwait(false);
            db.Claim = _claim;
            return await operation(db, token).ConfigureAwait(false);
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
}

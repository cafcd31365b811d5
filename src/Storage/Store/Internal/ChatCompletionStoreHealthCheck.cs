using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Storage.Internal;

/// <summary>Healthy when the database answers and holds the schema; the failure status otherwise.</summary>
internal sealed class ChatCompletionStoreHealthCheck(ChatCompletionStore store) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            return await store.HasSchemaAsync(cancellationToken).ConfigureAwait(false)
                ? HealthCheckResult.Healthy("The database answers and holds the chat_completions table.")
                : new HealthCheckResult(context.Registration.FailureStatus, "The database answers but has no chat_completions table: the migrations were not applied.");
        }
        catch (ChatCompletionStoreException e)
        {
            return new HealthCheckResult(context.Registration.FailureStatus, "The database does not answer.", e);
        }
    }
}

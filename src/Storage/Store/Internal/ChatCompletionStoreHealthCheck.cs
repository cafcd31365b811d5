using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Storage.Internal;

/// <summary>
/// Healthy when the database answers and holds the schema (and so does the read data source, when the store has one);
/// the failure status when the primary does not. A read source that does not answer is Degraded: reads still work, from
/// the primary.
/// </summary>
internal sealed class ChatCompletionStoreHealthCheck(ChatCompletionStore store) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            if (!await store.HasSchemaAsync(cancellationToken).ConfigureAwait(false))
            {
                return new HealthCheckResult(context.Registration.FailureStatus, "The database answers but has no chat_completions table: the migrations were not applied.");
            }

            return await store.ReadSourceHasSchemaAsync(cancellationToken).ConfigureAwait(false) switch
            {
                null => HealthCheckResult.Healthy("The database answers and holds the chat_completions table."),
                true => HealthCheckResult.Healthy("The database and the read data source answer and hold the chat_completions table."),
                false => HealthCheckResult.Degraded("The database answers, but the read data source does not (or lacks the schema): reads go to the primary."),
            };
        }
        catch (ChatCompletionStoreException e)
        {
            return new HealthCheckResult(context.Registration.FailureStatus, "The database does not answer.", e);
        }
    }
}

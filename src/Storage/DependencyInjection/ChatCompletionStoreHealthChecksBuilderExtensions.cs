using Microsoft.Extensions.Diagnostics.HealthChecks;
using Storage;
using Storage.Internal;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds the chat-completion store's health check.</summary>
public static class ChatCompletionStoreHealthChecksBuilderExtensions
{
    /// <summary>
    /// Adds a check that the store's database answers and holds the schema (the migrations were applied).
    /// Needs the store registered (<c>services.AddChatCompletionStore()</c>).
    /// </summary>
    /// <param name="builder">The health checks builder.</param>
    /// <param name="name">The check's name; <c>storage</c> by default.</param>
    /// <param name="failureStatus">The status reported on failure; <see cref="HealthStatus.Unhealthy"/> by default.</param>
    /// <param name="tags">Tags to filter checks by (such as <c>ready</c>).</param>
    /// <param name="timeout">How long the check may take before it fails.</param>
    public static IHealthChecksBuilder AddChatCompletionStore(
        this IHealthChecksBuilder builder,
        string name = "storage",
        HealthStatus? failureStatus = null,
        IEnumerable<string>? tags = null,
        TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.Add(new HealthCheckRegistration(
            name,
            provider => new ChatCompletionStoreHealthCheck(provider.GetRequiredService<ChatCompletionStore>()),
            failureStatus,
            tags,
            timeout));
    }
}

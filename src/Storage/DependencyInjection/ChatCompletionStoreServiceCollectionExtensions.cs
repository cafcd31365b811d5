using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Npgsql;
using Storage;
using Storage.Internal;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the chat-completion store in a service collection (ASP.NET Core, the generic host, or a bare container).</summary>
public static class ChatCompletionStoreServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="ChatCompletionStore"/> and a buffered <see cref="ChatCompletionWriter"/> as singletons, with
    /// options bound from the <c>Storage</c> configuration section (when an <see cref="IConfiguration"/> is registered,
    /// as in every host) and then adjusted by <paramref name="configure"/>. The store uses the
    /// <see cref="NpgsqlDataSource"/> registered in the container when there is one, else its own built from
    /// <see cref="ChatCompletionStoreServiceOptions.ConnectionString"/> (or <c>ConnectionStrings:Storage</c>).
    /// A hosted service flushes the writer when the host stops, so nothing accepted is lost on a clean shutdown.
    /// </summary>
    /// <remarks>Calling it again only adds another <paramref name="configure"/>: the services are registered once.</remarks>
    public static IServiceCollection AddChatCompletionStore(this IServiceCollection services, Action<ChatCompletionStoreServiceOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddOptions<ChatCompletionStoreServiceOptions>()
            .Configure<IServiceProvider>((options, provider) =>
            {
                if (provider.GetService<IConfiguration>() is { } configuration)
                {
                    Bind(options, configuration.GetSection(ChatCompletionStoreServiceOptions.ConfigurationSection), configuration);
                }
            });
        return AddCore(services, configure);
    }

    /// <summary>
    /// Registers the store and writer as <see cref="AddChatCompletionStore(IServiceCollection, Action{ChatCompletionStoreServiceOptions})"/>
    /// does, binding the options from the given configuration section instead of <c>Storage</c>.
    /// </summary>
    public static IServiceCollection AddChatCompletionStore(
        this IServiceCollection services, IConfiguration configurationSection, Action<ChatCompletionStoreServiceOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configurationSection);
        services.AddOptions<ChatCompletionStoreServiceOptions>().Configure(options => Bind(options, configurationSection, null));
        return AddCore(services, configure);
    }

    private static IServiceCollection AddCore(IServiceCollection services, Action<ChatCompletionStoreServiceOptions>? configure)
    {
        if (configure is not null)
        {
            services.Configure(configure);
        }

        services.TryAddSingleton(CreateStore);
        services.TryAddSingleton(provider => new ChatCompletionWriter(
            provider.GetRequiredService<ChatCompletionStore>(), provider.GetRequiredService<IOptions<ChatCompletionStoreServiceOptions>>().Value.Writer,
            provider.GetService<Microsoft.Extensions.Logging.ILogger<ChatCompletionWriter>>()));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, ChatCompletionWriterFlusher>());
        return services;
    }

    private static void Bind(ChatCompletionStoreServiceOptions options, IConfiguration section, IConfiguration? root)
    {
        section.Bind(options);
        options.ConnectionString ??= root?.GetConnectionString(ChatCompletionStoreServiceOptions.ConfigurationSection);
    }

    private static ChatCompletionStore CreateStore(IServiceProvider provider)
    {
        var options = provider.GetRequiredService<IOptions<ChatCompletionStoreServiceOptions>>().Value;
        if (provider.GetService<NpgsqlDataSource>() is { } shared)
        {
            return new ChatCompletionStore(shared, options.Store);
        }

        if (string.IsNullOrWhiteSpace(options.ConnectionString))
        {
            throw new InvalidOperationException(
                "The chat-completion store has no database: register an NpgsqlDataSource, or set Storage:ConnectionString " +
                "(or ConnectionStrings:Storage) in configuration, or ConnectionString in AddChatCompletionStore(options => …).");
        }

        // The store owns (and disposes) the data source it builds from the string.
        return new ChatCompletionStore(options.ConnectionString, options.Store);
    }
}

using Microsoft.EntityFrameworkCore;
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
    // The docker-compose database (README), as the repository's own design-time factory uses; only the context options
    // fall back to it, the store itself refuses to start without a configured database.
    private const string DevelopmentConnectionString = "Host=localhost;Port=5432;Database=storage;Username=storage;Password=storage";

    // The data source the container builds (and disposes) for the context options when none is registered.
    private static readonly object ContextDataSourceKey = new();

    /// <summary>
    /// Registers <see cref="ChatCompletionStore"/> and a buffered <see cref="ChatCompletionWriter"/> as singletons, with
    /// options bound from the <c>Storage</c> configuration section (when an <see cref="IConfiguration"/> is registered,
    /// as in every host) and then adjusted by <paramref name="configure"/>. The store uses the
    /// <see cref="NpgsqlDataSource"/> registered in the container when there is one, else its own built from
    /// <see cref="ChatCompletionStoreServiceOptions.ConnectionString"/> (or <c>ConnectionStrings:Storage</c>). With
    /// <see cref="ChatCompletionStoreServiceOptions.ReadConnectionString"/> (or <c>ConnectionStrings:StorageRead</c>) set,
    /// the store reads from that source (a standby) and writes to the primary.
    /// A hosted service flushes the writer when the host stops, so nothing accepted is lost on a clean shutdown, and
    /// another makes the table partitions ahead (<see cref="ChatCompletionStoreServiceOptions.Partitions"/>; on by default).
    /// </summary>
    /// <remarks>
    /// <para>Calling it again only adds another <paramref name="configure"/>: the services are registered once.</para>
    /// <para>
    /// It also registers the options of the store's EF Core context (<c>ChatCompletionDbContext</c>), so that
    /// <c>dotnet ef</c>, run in the application's own project, finds the context and the migrations that ship in the
    /// package: <c>dotnet ef migrations script --idempotent --context ChatCompletionDbContext</c>, or <c>migrations bundle</c>.
    /// Nothing else uses them; the store keeps its own pooled contexts. With no database configured, they point at
    /// the docker-compose development database, so the design-time tools can script without one.
    /// </para>
    /// </remarks>
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
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, PartitionMaintenanceService>(provider => new PartitionMaintenanceService(
            provider.GetRequiredService<ChatCompletionStore>(), provider.GetRequiredService<IOptions<ChatCompletionStoreServiceOptions>>().Value.Partitions,
            provider.GetService<Microsoft.Extensions.Logging.ILogger<PartitionMaintenanceService>>())));
        AddContextOptions(services);
        return services;
    }

    // EF's design-time tools list every DbContextOptions in the application's container and create each context from
    // them: this is how `dotnet ef` in the consumer's project finds the store's (internal) context and, through its
    // MigrationsAssembly, the migrations in the package. The tools resolve every registered context's options, the
    // application's own included, so these must resolve without a database configured.
    private static void AddContextOptions(IServiceCollection services)
    {
        if (services.Any(descriptor => descriptor.ServiceType == typeof(DbContextOptions<ChatCompletionDbContext>)))
        {
            return;
        }

        services.AddKeyedSingleton(ContextDataSourceKey, (provider, _) =>
        {
            var options = provider.GetRequiredService<IOptions<ChatCompletionStoreServiceOptions>>().Value;
            return StoreDataSources.Create(string.IsNullOrWhiteSpace(options.ConnectionString) ? DevelopmentConnectionString : options.ConnectionString);
        });
        services.AddSingleton(provider =>
        {
            var options = provider.GetRequiredService<IOptions<ChatCompletionStoreServiceOptions>>().Value;
            var dataSource = provider.GetService<NpgsqlDataSource>() ?? provider.GetRequiredKeyedService<NpgsqlDataSource>(ContextDataSourceKey);
            return StorageModel.Configure(new DbContextOptionsBuilder<ChatCompletionDbContext>(), dataSource, options.Store).Options;
        });
        services.AddSingleton<DbContextOptions>(provider => provider.GetRequiredService<DbContextOptions<ChatCompletionDbContext>>());
    }

    private static void Bind(ChatCompletionStoreServiceOptions options, IConfiguration section, IConfiguration? root)
    {
        section.Bind(options);
        options.ConnectionString ??= root?.GetConnectionString(ChatCompletionStoreServiceOptions.ConfigurationSection);
        options.ReadConnectionString ??= root?.GetConnectionString(ChatCompletionStoreServiceOptions.ReadConnectionStringName);
    }

    private static ChatCompletionStore CreateStore(IServiceProvider provider)
    {
        var options = provider.GetRequiredService<IOptions<ChatCompletionStoreServiceOptions>>().Value;
        var read = string.IsNullOrWhiteSpace(options.ReadConnectionString) ? null : options.ReadConnectionString;
        if (options.PricesFile is { Length: > 0 } pricesFile && options.Store.Prices is null)
        {
            options.Store.Prices = PriceTable.Parse(File.ReadAllBytes(pricesFile));
        }

        if (provider.GetService<NpgsqlDataSource>() is { } shared)
        {
            // The container owns the primary; the store owns the read data source it builds.
            return new ChatCompletionStore(
                shared, ownsDataSource: false, read is null ? null : StoreDataSources.Create(read), ownsReadDataSource: true, options.Store);
        }

        if (string.IsNullOrWhiteSpace(options.ConnectionString))
        {
            throw new InvalidOperationException(
                "The chat-completion store has no database: register an NpgsqlDataSource, or set Storage:ConnectionString " +
                "(or ConnectionStrings:Storage) in configuration, or ConnectionString in AddChatCompletionStore(options => …).");
        }

        // The store owns (and disposes) the data source it builds from the string.
        return new ChatCompletionStore(options.ConnectionString, read, options.Store);
    }
}

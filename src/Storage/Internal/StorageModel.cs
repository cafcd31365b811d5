using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace Storage.Internal;

/// <summary>The one place that configures the provider, used at run time and at design time alike.</summary>
internal static class StorageModel
{
    public const string MigrationsAssembly = "Storage.Migrations";

    public static DbContextOptionsBuilder<ChatCompletionDbContext> Configure(
        DbContextOptionsBuilder<ChatCompletionDbContext> builder, NpgsqlDataSource dataSource, ChatCompletionStoreOptions? options = null)
    {
        options ??= new ChatCompletionStoreOptions();
        return builder
            // Transient failures (a dropped connection, a failover, a serialization failure) are retried. A save whose
            // commit outcome was lost is safe to replay: the content-derived key turns it into "already stored".
            .UseNpgsql(dataSource, npgsql => npgsql.MigrationsAssembly(MigrationsAssembly)
                .ExecutionStrategy(dependencies => new StoreExecutionStrategy(dependencies, dataSource, options.MaxRetryCount, options.MaxRetryDelay)))
            .UseSnakeCaseNamingConvention()
            .AddInterceptors(TenantSessionInterceptor.Instance);
    }
}

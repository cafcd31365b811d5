using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata;
using Npgsql;

namespace Storage.Internal;

/// <summary>The one place that configures the provider, used at run time and at design time alike.</summary>
internal static class StorageModel
{
    public const string MigrationsAssembly = "Storage.Migrations";

    public static DbContextOptionsBuilder<ChatCompletionDbContext> Configure(
        DbContextOptionsBuilder<ChatCompletionDbContext> builder, NpgsqlDataSource dataSource, ChatCompletionStoreOptions? options = null, bool retry = true)
    {
        options ??= new ChatCompletionStoreOptions();
        var maxRetryCount = retry ? options.MaxRetryCount : 0;
        return ShapeModel(builder
            // Transient failures (a dropped connection, a failover, a serialization failure) are retried. A save whose
            // commit outcome was lost is safe to replay: the content-derived key turns it into "already stored".
            .UseNpgsql(dataSource, npgsql => npgsql.MigrationsAssembly(MigrationsAssembly)
                .ExecutionStrategy(dependencies => new StoreExecutionStrategy(dependencies, dataSource, maxRetryCount, options.MaxRetryDelay))))
            .AddInterceptors(TenantSessionInterceptor.Instance, TenantTransactionInterceptor.Instance);
    }

    /// <summary>The model as every store uses it, built without a connection: its tables' column names, store types and converters.</summary>
    public static IModel Model => LazyModel.Value;

    private static readonly Lazy<IModel> LazyModel = new(() =>
    {
        using var db = new ChatCompletionDbContext(ShapeModel(new DbContextOptionsBuilder<ChatCompletionDbContext>().UseNpgsql()).Options);
        return db.Model;
    });

    // What shapes the model beyond the context's own configuration: the options that name tables and columns.
    private static DbContextOptionsBuilder<ChatCompletionDbContext> ShapeModel(DbContextOptionsBuilder<ChatCompletionDbContext> builder) =>
        builder.UseSnakeCaseNamingConvention();
}

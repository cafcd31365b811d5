using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;
using Npgsql;
using Storage.Internal;

namespace Storage.Migrations;

/// <summary>
/// Lets <c>dotnet ef</c> build the model without a running application. Adding or scripting migrations needs
/// no server; <c>database update</c> connects with <c>ConnectionStrings__Storage</c>, else the docker-compose default.
/// </summary>
internal sealed class DesignTimeDbContextFactory : IDesignTimeDbContextFactory<ChatCompletionDbContext>
{
    public ChatCompletionDbContext CreateDbContext(string[] args)
    {
        var connectionString = Environment.GetEnvironmentVariable("ConnectionStrings__Storage")
            ?? StorageMigrator.DefaultConnectionString;
        // The data source lives as long as the tool's process, which is what the design-time tools expect.
        var dataSource = NpgsqlDataSource.Create(connectionString);
        return new ChatCompletionDbContext(StorageModel.Configure(new DbContextOptionsBuilder<ChatCompletionDbContext>(), dataSource).Options);
    }
}

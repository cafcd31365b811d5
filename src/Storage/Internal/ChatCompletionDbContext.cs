using Microsoft.EntityFrameworkCore;

namespace Storage.Internal;

/// <summary>
/// The EF Core model of the store. Migrations live in the Storage.Migrations assembly; add one with
/// <c>dotnet ef migrations add NAME --project migrations/Storage.Migrations --startup-project migrations/Storage.Migrations --namespace Storage.Migrations</c>.
/// </summary>
internal sealed class ChatCompletionDbContext(DbContextOptions<ChatCompletionDbContext> options) : DbContext(options)
{
    public DbSet<ChatCompletion> Completions => Set<ChatCompletion>();

    public DbSet<ChatChoice> Choices => Set<ChatChoice>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.ApplyConfiguration(new ChatCompletionConfiguration());
        modelBuilder.ApplyConfiguration(new ChatChoiceConfiguration());
    }
}

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

    /// <summary>
    /// The tenant every query of this context is scoped to (<c>""</c> for the unscoped store), with its proof. Set on each
    /// lease from the pool, so a pooled context never carries a previous caller's tenant.
    /// </summary>
    public TenantClaim Claim { get; set; } = new("", "");

    /// <summary>The claim's tenant, which the query filters compare with.</summary>
    public string Tenant => Claim.Tenant;

    /// <summary>
    /// Whether the database wants the claim stated in every transaction (a Citus deployment: see <see cref="TenantTransactionInterceptor"/>),
    /// as <c>storage_claim_tenant</c> answered when the connection opened.
    /// </summary>
    public bool ClaimEachTransaction { get; set; }

    /// <summary>
    /// Whether the database is a Citus coordinator, which decides how reads of completions with their choices are
    /// written (<see cref="CompletionQueries"/>). Set on each lease from the pool.
    /// </summary>
    public bool OnCitus { get; set; }

    /// <summary>The transaction <see cref="TenantTransactionInterceptor"/> opened for the command running now, if any.</summary>
    public Npgsql.NpgsqlTransaction? ClaimTransaction { get; set; }

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.ApplyConfiguration(new ChatCompletionConfiguration());
        modelBuilder.ApplyConfiguration(new ChatChoiceConfiguration());
        SearchText.Map(modelBuilder);
        // The library's own isolation: every LINQ query, ExecuteUpdate and ExecuteDelete sees only this tenant's rows.
        // Row-level security enforces the same for the application role in PostgreSQL: the migrations put a policy on
        // both tables that compares the row's tenant with the connection's storage.tenant setting (TenantSql).
        modelBuilder.Entity<ChatCompletion>().HasQueryFilter(c => EF.Property<string>(c, ShadowProperties.Tenant) == Tenant);
        modelBuilder.Entity<ChatChoice>().HasQueryFilter(c => EF.Property<string>(c, ShadowProperties.Tenant) == Tenant);
    }
}

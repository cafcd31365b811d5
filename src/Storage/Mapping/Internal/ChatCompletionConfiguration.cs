using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Storage.Internal;

internal sealed class ChatCompletionConfiguration : IEntityTypeConfiguration<ChatCompletion>
{
    public const string TableName = "chat_completions";
    public const string PrimaryKeyName = "pk_chat_completions";

    /// <summary>
    /// Whether a unique violation is the completions' primary key: the only unique constraint of the table. The table is
    /// partitioned, so PostgreSQL names the partition's own index and table (<c>chat_completions_p20261101</c>, …). Citus
    /// passes on only a worker's SQLSTATE and message, no names: a unique violation without them is this key too, since a
    /// completion's choices (the only other unique key) are written after it in the same transaction.
    /// </summary>
    public static bool IsPrimaryKeyViolation(Npgsql.PostgresException e) =>
        e.SqlState == Npgsql.PostgresErrorCodes.UniqueViolation
        && (e.ConstraintName == PrimaryKeyName || e.TableName is "chat_completions" || e.TableName?.StartsWith("chat_completions_", StringComparison.Ordinal) == true
            || (e.ConstraintName is null && e.TableName is null));
    /// <summary>The shadow property over PostgreSQL's xmin system column: the row version of optimistic concurrency.</summary>
    public const string VersionProperty = "Version";
    public const string CreatedIndexName = "ix_chat_completions_tenant_created_completion_key";
    public const string ModelCreatedIndexName = "ix_chat_completions_tenant_model_created_completion_key";
    public const string IdIndexName = "ix_chat_completions_tenant_id";

    public void Configure(EntityTypeBuilder<ChatCompletion> builder)
    {
        builder.ToTable(TableName);

        builder.Property<long>(ShadowProperties.CompletionKey).HasColumnName("completion_key").ValueGeneratedNever();
        // created is in the key so the table can be range-partitioned by it (PostgreSQL requires the
        // partition key in every unique constraint); the content-derived key makes replays collide.
        builder.HasKey(ShadowProperties.CompletionKey, nameof(ChatCompletion.Created)).HasName(PrimaryKeyName);
        builder.Property<byte[]>(ShadowProperties.ContentHash).HasColumnName("content_hash").IsRequired();
        builder.Property<DateTimeOffset>(ShadowProperties.StoredAt).HasColumnName("stored_at").HasDefaultValueSql("now()").ValueGeneratedOnAdd();
        // PostgreSQL's system column xmin (the id of the transaction that last wrote the row) is the version
        // that optimistic metadata updates compare; it needs no column of its own and no migration. It is read by
        // queries, never written, and never read back after an insert: PostgreSQL cannot return a system column from
        // an INSERT into a partitioned table (RETURNING xmin), and nothing needs the version of a row just inserted.
        builder.Property<uint>(VersionProperty).HasColumnName("xmin").HasColumnType("xid").IsConcurrencyToken().ValueGeneratedOnUpdate()
            .Metadata.SetBeforeSaveBehavior(PropertySaveBehavior.Ignore);

        // The cost computed when the completion was stored (or repriced); exact numeric, NULL when unpriced.
        builder.Property<decimal?>(ShadowProperties.Cost).HasColumnName("cost").HasColumnType("numeric");
        builder.Property<string?>(ShadowProperties.CostSource).HasColumnName("cost_source");
        builder.Property<bool>(ShadowProperties.CostClamped).HasColumnName("cost_clamped");
        builder.Property<string>(ShadowProperties.Tenant).HasColumnName("tenant").IsRequired().HasDefaultValue("");
        builder.Property(c => c.Id).HasColumnName("id").IsRequired();
        builder.Property(c => c.Created).HasColumnName("created");
        builder.Property(c => c.ObjectType).HasColumnName("object");
        builder.Property(c => c.Metadata).HasJsonColumn();
        builder.Property(c => c.StoredExtras).HasColumnName("extras").HasColumnType("jsonb");
        builder.Ignore(c => c.AdditionalProperties);

        builder.ComplexProperty(c => c.Usage, usage =>
        {
            usage.Property(u => u.PromptTokensDetails).HasJsonColumn();
            usage.Property(u => u.CompletionTokensDetails).HasJsonColumn();
            usage.Property(u => u.StoredExtras).HasColumnName("usage_extras").HasColumnType("jsonb");
            usage.Ignore(u => u.AdditionalProperties);
        });

        builder.ComplexProperty(c => c.Call, call =>
        {
            call.Ignore(c => c.Request);
            call.Property(c => c.RequestJson).HasColumnName("call_request").HasColumnType("jsonb");
        });

        builder.HasMany(c => c.Choices)
            .WithOne()
            .HasForeignKey(ShadowProperties.CompletionKey, ShadowProperties.CompletionCreated)
            .OnDelete(DeleteBehavior.Cascade)
            .HasConstraintName("fk_chat_completion_choices_chat_completions");

        // Every query is scoped to one tenant ("" when unscoped), so the tenant leads every btree index: one tenant's
        // rows are one range, however many tenants share the table.
        builder.HasIndex(ShadowProperties.Tenant, nameof(ChatCompletion.Id)).HasDatabaseName(IdIndexName);
        // Keyset pagination, streaming and retention walk (created, completion_key) in order, optionally within one model.
        // On a large live table create these with CREATE INDEX CONCURRENTLY IF NOT EXISTS before migrating: the
        // migrations create them with IF NOT EXISTS, so they then only record themselves.
        builder.HasIndex(ShadowProperties.Tenant, nameof(ChatCompletion.Created), ShadowProperties.CompletionKey).HasDatabaseName(CreatedIndexName);
        builder.HasIndex(ShadowProperties.Tenant, nameof(ChatCompletion.Model), nameof(ChatCompletion.Created), ShadowProperties.CompletionKey).HasDatabaseName(ModelCreatedIndexName);
        // jsonb_path_ops: smaller and faster than the default opclass, and @> containment is all the filters use.
        builder.HasIndex(c => c.Metadata).HasMethod("gin").HasOperators("jsonb_path_ops");
    }
}

using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Storage.Internal;

internal sealed class ChatCompletionConfiguration : IEntityTypeConfiguration<ChatCompletion>
{
    public const string TableName = "chat_completions";
    public const string PrimaryKeyName = "pk_chat_completions";

    public void Configure(EntityTypeBuilder<ChatCompletion> builder)
    {
        builder.ToTable(TableName);

        builder.Property<long>(ShadowProperties.CompletionKey).HasColumnName("completion_key").ValueGeneratedNever();
        // created is in the key so the table can be range-partitioned by it (PostgreSQL requires the
        // partition key in every unique constraint); the content-derived key makes replays collide.
        builder.HasKey(ShadowProperties.CompletionKey, nameof(ChatCompletion.Created)).HasName(PrimaryKeyName);
        builder.Property<byte[]>(ShadowProperties.ContentHash).HasColumnName("content_hash").IsRequired();
        builder.Property<DateTimeOffset>(ShadowProperties.StoredAt).HasColumnName("stored_at").HasDefaultValueSql("now()").ValueGeneratedOnAdd();

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

        builder.HasMany(c => c.Choices)
            .WithOne()
            .HasForeignKey(ShadowProperties.CompletionKey, ShadowProperties.CompletionCreated)
            .OnDelete(DeleteBehavior.Cascade)
            .HasConstraintName("fk_chat_completion_choices_chat_completions");

        builder.HasIndex(c => c.Id);
        // jsonb_path_ops: smaller and faster than the default opclass, and @> containment is all the filters use.
        builder.HasIndex(c => c.Metadata).HasMethod("gin").HasOperators("jsonb_path_ops");
    }
}

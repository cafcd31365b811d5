using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Storage.Internal;

internal sealed class ChatChoiceConfiguration : IEntityTypeConfiguration<ChatChoice>
{
    public const string TableName = "chat_completion_choices";

    public void Configure(EntityTypeBuilder<ChatChoice> builder)
    {
        builder.ToTable(TableName);
        builder.Property<long>(ShadowProperties.CompletionKey).HasColumnName("completion_key");
        builder.Property<DateTimeOffset>(ShadowProperties.CompletionCreated).HasColumnName("created");
        builder.HasKey(ShadowProperties.CompletionKey, ShadowProperties.CompletionCreated, nameof(ChatChoice.Index));

        builder.Property<string>(ShadowProperties.Tenant).HasColumnName("tenant").IsRequired().HasDefaultValue("");
        builder.Property(c => c.Logprobs).HasJsonColumn();
        builder.Property(c => c.StoredExtras).HasColumnName("extras").HasColumnType("jsonb");
        builder.Ignore(c => c.AdditionalProperties);

        builder.ComplexProperty(c => c.Message, message =>
        {
            message.Ignore(m => m.Content);
            message.Property(m => m.ContentText).HasColumnName("message_content");
            message.Property(m => m.ContentParts).HasColumnName("message_content_parts").HasColumnType("jsonb");
            message.Property(m => m.ToolCalls).HasJsonColumn();
            message.Property(m => m.FunctionCall).HasJsonColumn();
            message.Property(m => m.Audio).HasJsonColumn();
            message.Property(m => m.Annotations).HasJsonColumn();
            message.Property(m => m.StoredExtras).HasColumnName("message_extras").HasColumnType("jsonb");
            message.Ignore(m => m.AdditionalProperties);
        });
    }
}

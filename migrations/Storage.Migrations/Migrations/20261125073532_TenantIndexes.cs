using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Storage.Migrations
{
    /// <summary>
    /// Every query is scoped to one tenant ("" when unscoped), so the tenant now leads every btree index: one tenant's
    /// rows are one range of each index, however many tenants share the table. Replaces the indexes of QueryIndexes.
    /// </summary>
    /// <remarks>
    /// As for QueryIndexes: on a large live table, first apply TenantsCallsAndUsageRollup, then run, outside any
    /// transaction:
    /// <code>
    /// CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_chat_completions_tenant_id ON chat_completions (tenant, id);
    /// CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_chat_completions_tenant_created_completion_key ON chat_completions (tenant, created, completion_key);
    /// CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_chat_completions_tenant_model_created_completion_key ON chat_completions (tenant, model, created, completion_key);
    /// </code>
    /// then apply this migration, which finds them, drops the old indexes and records itself.
    /// </remarks>
    public partial class TenantIndexes : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql("""
                CREATE INDEX IF NOT EXISTS ix_chat_completions_tenant_id ON chat_completions (tenant, id);
                CREATE INDEX IF NOT EXISTS ix_chat_completions_tenant_created_completion_key ON chat_completions (tenant, created, completion_key);
                CREATE INDEX IF NOT EXISTS ix_chat_completions_tenant_model_created_completion_key ON chat_completions (tenant, model, created, completion_key);
                DROP INDEX IF EXISTS ix_chat_completions_id;
                DROP INDEX IF EXISTS ix_chat_completions_created_completion_key;
                DROP INDEX IF EXISTS ix_chat_completions_model_created_completion_key;
                """);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql("""
                CREATE INDEX IF NOT EXISTS ix_chat_completions_id ON chat_completions (id);
                CREATE INDEX IF NOT EXISTS ix_chat_completions_created_completion_key ON chat_completions (created, completion_key);
                CREATE INDEX IF NOT EXISTS ix_chat_completions_model_created_completion_key ON chat_completions (model, created, completion_key);
                DROP INDEX IF EXISTS ix_chat_completions_tenant_id;
                DROP INDEX IF EXISTS ix_chat_completions_tenant_created_completion_key;
                DROP INDEX IF EXISTS ix_chat_completions_tenant_model_created_completion_key;
                """);
        }
    }
}

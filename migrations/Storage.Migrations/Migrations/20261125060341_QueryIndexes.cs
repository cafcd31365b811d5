using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Storage.Migrations
{
    /// <summary>
    /// Indexes for the query surface: keyset pages, exports and retention deletes walk (created, completion_key),
    /// optionally within one model. The model also gains the row version, mapped to PostgreSQL's xmin system column,
    /// which needs no DDL.
    /// </summary>
    /// <remarks>
    /// A plain CREATE INDEX blocks writes to the table while it builds. On a large live table, first run, outside any
    /// transaction (psql in autocommit mode, not inside the idempotent script):
    /// <code>
    /// CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_chat_completions_created_completion_key ON chat_completions (created, completion_key);
    /// CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_chat_completions_model_created_completion_key ON chat_completions (model, created, completion_key);
    /// </code>
    /// then apply this migration, which finds them and only records itself. (If a concurrent build fails it leaves an
    /// INVALID index of that name: drop it and build again before migrating.) The migration does not build them
    /// concurrently itself because EF wraps every command of the idempotent script in a DO block, where PostgreSQL
    /// refuses CREATE INDEX CONCURRENTLY (25001).
    /// </remarks>
    public partial class QueryIndexes : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql(
                "CREATE INDEX IF NOT EXISTS ix_chat_completions_created_completion_key ON chat_completions (created, completion_key);");

            migrationBuilder.Sql(
                "CREATE INDEX IF NOT EXISTS ix_chat_completions_model_created_completion_key ON chat_completions (model, created, completion_key);");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql("DROP INDEX IF EXISTS ix_chat_completions_model_created_completion_key;");

            migrationBuilder.Sql("DROP INDEX IF EXISTS ix_chat_completions_created_completion_key;");
        }
    }
}

using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Storage.Migrations
{
    /// <summary>
    /// Samples metadata ten times as finely for the planner. PostgreSQL estimates <c>metadata @&gt; '{"k":"v"}'</c> from
    /// the documents ANALYZE samples; with the default target, a pair missing from the sample is estimated at a handful
    /// of rows, and a first page of that filter reads and sorts every match through the GIN index instead of walking
    /// the time index (52 ms against 0.3 ms at a million completions with 50 tenants). Only statistics change: no lock
    /// beyond a brief one, no rewrite; the next ANALYZE (or autovacuum) applies it.
    /// </summary>
    public partial class MetadataStatistics : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql("ALTER TABLE chat_completions ALTER COLUMN metadata SET STATISTICS 1000;");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql("ALTER TABLE chat_completions ALTER COLUMN metadata SET STATISTICS -1;");
        }
    }
}

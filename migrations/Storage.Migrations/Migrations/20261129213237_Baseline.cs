using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Storage.Migrations
{
    /// <summary>
    /// The whole schema of the first release: the two tables keyed by content with <c>created</c> in every key, the
    /// tenant leading every btree index, and (in <see cref="Storage.Migrations.Sql.BaselineSql"/>) the usage rollup,
    /// row-level security (off until a deployment turns it on), signed tenant claims, statistics and lz4, then (in
    /// <see cref="Storage.Migrations.Sql.CostSql"/>) the price table, then (in <see cref="Storage.Migrations.Sql.SearchSql"/>) the
    /// functions of search and the switch of its indexes. Both tables are range-partitioned by
    /// <c>created</c> (<see cref="Storage.Migrations.Sql.BaselineSql.Tables"/>), with a default partition for whatever no
    /// period's partition holds, and the functions that make and drop partitions.
    /// </summary>
    public partial class Baseline : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            // The two tables are range-partitioned by created, which EF's operations cannot say: they are created in SQL
            // (the model and its snapshot are unchanged, so EF maps them as it always did), and everything after them,
            // the indexes included, is created on the partitioned parents as before.
            foreach (var sql in Storage.Migrations.Sql.BaselineSql.Tables)
            {
                migrationBuilder.Sql(sql);
            }

            migrationBuilder.CreateIndex(
                name: "ix_chat_completions_metadata",
                table: "chat_completions",
                column: "metadata")
                .Annotation("Npgsql:IndexMethod", "gin")
                .Annotation("Npgsql:IndexOperators", new[] { "jsonb_path_ops" });

            migrationBuilder.CreateIndex(
                name: "ix_chat_completions_tenant_created_completion_key",
                table: "chat_completions",
                columns: new[] { "tenant", "created", "completion_key" });

            migrationBuilder.CreateIndex(
                name: "ix_chat_completions_tenant_id",
                table: "chat_completions",
                columns: new[] { "tenant", "id" });

            migrationBuilder.CreateIndex(
                name: "ix_chat_completions_tenant_model_created_completion_key",
                table: "chat_completions",
                columns: new[] { "tenant", "model", "created", "completion_key" });

            foreach (var sql in Storage.Migrations.Sql.BaselineSql.Up)
            {
                migrationBuilder.Sql(sql);
            }

            foreach (var sql in Storage.Migrations.Sql.CostSql.Up)
            {
                migrationBuilder.Sql(sql);
            }

            foreach (var sql in Storage.Migrations.Sql.SearchSql.Up)
            {
                migrationBuilder.Sql(sql);
            }
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            foreach (var sql in Storage.Migrations.Sql.SearchSql.Down)
            {
                migrationBuilder.Sql(sql);
            }

            foreach (var sql in Storage.Migrations.Sql.CostSql.Down)
            {
                migrationBuilder.Sql(sql);
            }

            foreach (var sql in Storage.Migrations.Sql.BaselineSql.Down)
            {
                migrationBuilder.Sql(sql);
            }

            migrationBuilder.DropTable(
                name: "chat_completion_choices");

            migrationBuilder.DropTable(
                name: "chat_completions");
        }
    }
}

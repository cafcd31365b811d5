using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Storage.Migrations
{
    /// <summary>
    /// The whole schema of the first release: the two tables keyed by content with <c>created</c> in every key, the
    /// tenant leading every btree index, and (in <see cref="Storage.Migrations.Sql.BaselineSql"/>) the usage rollup,
    /// row-level security (off until a deployment turns it on), signed tenant claims, statistics and lz4, then (in
    /// <see cref="Storage.Migrations.Sql.CostSql"/>) the price table.
    /// </summary>
    public partial class Baseline : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "chat_completions",
                columns: table => new
                {
                    created = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    completion_key = table.Column<long>(type: "bigint", nullable: false),
                    id = table.Column<string>(type: "text", nullable: false),
                    @object = table.Column<string>(name: "object", type: "text", nullable: false),
                    model = table.Column<string>(type: "text", nullable: false),
                    service_tier = table.Column<string>(type: "text", nullable: true),
                    system_fingerprint = table.Column<string>(type: "text", nullable: true),
                    metadata = table.Column<string>(type: "jsonb", nullable: true),
                    content_hash = table.Column<byte[]>(type: "bytea", nullable: false),
                    cost = table.Column<decimal>(type: "numeric", nullable: true),
                    cost_clamped = table.Column<bool>(type: "boolean", nullable: false),
                    cost_source = table.Column<string>(type: "text", nullable: true),
                    stored_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false, defaultValueSql: "now()"),
                    tenant = table.Column<string>(type: "text", nullable: false, defaultValue: ""),
                    xmin = table.Column<uint>(type: "xid", rowVersion: true, nullable: false),
                    call_latency = table.Column<TimeSpan>(type: "interval", nullable: true),
                    call_request = table.Column<string>(type: "jsonb", nullable: true),
                    call_span_id = table.Column<string>(type: "text", nullable: true),
                    call_started_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    call_time_to_first_token = table.Column<TimeSpan>(type: "interval", nullable: true),
                    call_trace_id = table.Column<string>(type: "text", nullable: true),
                    usage_completion_tokens = table.Column<long>(type: "bigint", nullable: true),
                    usage_completion_tokens_details = table.Column<string>(type: "jsonb", nullable: true),
                    usage_prompt_tokens = table.Column<long>(type: "bigint", nullable: true),
                    usage_prompt_tokens_details = table.Column<string>(type: "jsonb", nullable: true),
                    usage_extras = table.Column<string>(type: "jsonb", nullable: true),
                    usage_total_tokens = table.Column<long>(type: "bigint", nullable: true),
                    extras = table.Column<string>(type: "jsonb", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_chat_completions", x => new { x.completion_key, x.created });
                });

            migrationBuilder.CreateTable(
                name: "chat_completion_choices",
                columns: table => new
                {
                    index = table.Column<int>(type: "integer", nullable: false),
                    completion_key = table.Column<long>(type: "bigint", nullable: false),
                    created = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    finish_reason = table.Column<string>(type: "text", nullable: true),
                    logprobs = table.Column<string>(type: "jsonb", nullable: true),
                    tenant = table.Column<string>(type: "text", nullable: false, defaultValue: ""),
                    message_annotations = table.Column<string>(type: "jsonb", nullable: true),
                    message_audio = table.Column<string>(type: "jsonb", nullable: true),
                    message_content_parts = table.Column<string>(type: "jsonb", nullable: true),
                    message_content = table.Column<string>(type: "text", nullable: true),
                    message_function_call = table.Column<string>(type: "jsonb", nullable: true),
                    message_reasoning = table.Column<string>(type: "text", nullable: true),
                    message_reasoning_content = table.Column<string>(type: "text", nullable: true),
                    message_refusal = table.Column<string>(type: "text", nullable: true),
                    message_role = table.Column<string>(type: "text", nullable: true),
                    message_extras = table.Column<string>(type: "jsonb", nullable: true),
                    message_tool_calls = table.Column<string>(type: "jsonb", nullable: true),
                    extras = table.Column<string>(type: "jsonb", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_chat_completion_choices", x => new { x.completion_key, x.created, x.index });
                    table.ForeignKey(
                        name: "fk_chat_completion_choices_chat_completions",
                        columns: x => new { x.completion_key, x.created },
                        principalTable: "chat_completions",
                        principalColumns: new[] { "completion_key", "created" },
                        onDelete: ReferentialAction.Cascade);
                });

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
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
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

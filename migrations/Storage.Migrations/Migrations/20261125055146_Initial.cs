using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Storage.Migrations
{
    /// <inheritdoc />
    public partial class Initial : Migration
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
                    stored_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false, defaultValueSql: "now()"),
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
                name: "ix_chat_completions_id",
                table: "chat_completions",
                column: "id");

            migrationBuilder.CreateIndex(
                name: "ix_chat_completions_metadata",
                table: "chat_completions",
                column: "metadata")
                .Annotation("Npgsql:IndexMethod", "gin")
                .Annotation("Npgsql:IndexOperators", new[] { "jsonb_path_ops" });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "chat_completion_choices");

            migrationBuilder.DropTable(
                name: "chat_completions");
        }
    }
}
